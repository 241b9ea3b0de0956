package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// demoModel is a model of a demo tenant and how many of it the tenant has;
// the tables list its fields in order.
type demoModel struct {
	name, number, category, maker, supplier string
	count                                   int
	costCents                               int64 // typical price; each asset's varies by up to 10%
	warranty                                int   // months
	// holder is what a deployed asset of the model is checked out to:
	// qm.HolderUser (a person), qm.HolderLocation (one of places), or
	// "asset:CATEGORY", a deployed asset of that category; "" never.
	holder string
	places []string // locations it is kept or installed at; the first for stock
	dept   string   // its department, when not its holder's
}

// demoLicense is a license of a demo tenant: users seats go to the first
// people, assets seats to the deployed assets of the category; the tables
// list its fields in order.
type demoLicense struct {
	name, maker     string
	seats, users    int
	assets          int
	category        string
	expiresInDays   int // 0: it does not expire
	productKeyParts int
}

// demoMaintenance is work on the nth asset of a model with a status ("" any);
// the tables list its fields in order.
type demoMaintenance struct {
	model, status            string
	nth                      int
	kind, title, supplier    string
	startedDaysAgo, doneDays int // doneDays: days after the start it was completed; -1 not yet
	costCents                int64
}

// The status labels demo assets have: a new tenant's defaults and two more.
const (
	demoReady    = "Ready to deploy"
	demoDeployed = "Deployed"
	demoPending  = "Pending"
	demoRepair   = "Out for repair"
	demoRetired  = "Retired"
)

var demoStatuses = []qm.Reference{
	{Name: demoReady, Kind: qm.StatusDeployable}, {Name: demoDeployed, Kind: qm.StatusDeployable},
	{Name: demoPending, Kind: qm.StatusPending}, {Name: demoRepair, Kind: qm.StatusUndeployable},
	{Name: demoRetired, Kind: qm.StatusArchived},
}

// demoSchedules are the depreciation schedules, by the categories that
// follow them (those a tenant has).
var demoSchedules = []struct {
	name       string
	months     int
	categories []string
}{
	{"IT equipment (3 years)", 36, []string{"Laptops", "Desktops", "Monitors", "Phones", "Tablets", "Docking stations", "Scanners"}},
	{"Infrastructure (5 years)", 60, []string{"Servers", "Network", "Printers"}},
	{"Vehicles (8 years)", 96, []string{"Vehicles"}},
}

// demoFieldSets are the custom field sets, attached to a category (when
// the tenant has it).
var demoFieldSets = []struct {
	name, category string
	fields         []qm.CustomField
}{
	{"Laptop", "Laptops", []qm.CustomField{
		{Name: "RAM (GB)", Type: qm.FieldNumber},
		{Name: "OS", Type: qm.FieldChoice, Choices: []string{"Windows 11", "macOS", "Ubuntu"}},
		{Name: "Encrypted", Type: qm.FieldBoolean, HelpText: "Full-disk encryption is on"},
	}},
	{"Vehicle", "Vehicles", []qm.CustomField{
		{Name: "Licence plate", Type: qm.FieldText, Unique: true},
		{Name: "Fuel", Type: qm.FieldChoice, Choices: []string{"Diesel", "Petrol", "Electric"}},
	}},
}

// demoFirstNames and demoLastNames make up the people of demo tenants.
var (
	demoFirstNames = []string{"Maria", "James", "Aisha", "Chen", "Lukas", "Sofia", "Omar", "Emma", "Ravi", "Olivia",
		"Mateo", "Hannah", "Kenji", "Zoe", "Ibrahim", "Lena", "Noah", "Priya", "Jonas", "Amara",
		"Felix", "Nora", "Diego", "Ingrid", "Samuel", "Yara", "Elias", "Mia", "Tomasz", "Freya",
		"Hugo", "Leila", "Oscar", "Anya", "Victor", "Clara", "Kwame", "Ella", "Marco", "Sara"}
	demoLastNames = []string{"Garcia", "Smith", "Khan", "Wei", "Becker", "Rossi", "Haddad", "Johnson", "Patel", "Brown",
		"Silva", "Schmidt", "Tanaka", "Martin", "Aziz", "Novak", "Miller", "Sharma", "Weber", "Okafor"}
)

// demoSeed makes the demo data the same on every run.
const demoSeed = 20260101

// demoRand is the random source of one part of the demo data, named by
// what it makes: the same on every run, and another for each part.
func demoRand(part string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(part))
	return rand.New(rand.NewPCG(demoSeed, h.Sum64()))
}

// demoAsset is an asset planned, with what happens to it once made.
type demoAsset struct {
	asset  *qm.Asset
	model  *demoModel
	status string
	holder string // HolderUser, HolderLocation or "asset:CATEGORY"; "" stays in
	to     string // the person's email or the location's name
}

// demoPerson is someone who holds assets: a member of the tenant.
type demoPerson struct{ email, name, dept string }

// staff makes up the tenant's people, each in one of its departments.
func (d *demoTenant) staff() []demoPerson {
	people := make([]demoPerson, d.people)
	offset := demoRand(d.tenant.Slug).IntN(len(demoFirstNames))
	for i := range people {
		first := demoFirstNames[(i+offset)%len(demoFirstNames)]
		last := demoLastNames[(i*7+offset)%len(demoLastNames)]
		people[i] = demoPerson{
			email: strings.ToLower(first + "." + last + "@" + d.tenant.Slug + ".example"),
			name:  first + " " + last,
			dept:  d.departments[i%len(d.departments)][0],
		}
	}
	return people
}

// planAssets plans the tenant's assets from its models: their status,
// dates, cost and custom fields, and who or what holds the deployed ones.
func planAssets(d *demoTenant, people []demoPerson, today time.Time) []*demoAsset {
	rng := demoRand(d.tenant.Slug)
	var out []*demoAsset
	next := map[string]int{}  // per category: the next person to hold one
	named := map[string]int{} // per category: the assets named so far
	for mi := range d.models {
		m := &d.models[mi]
		for range m.count {
			named[m.category]++
			a := &qm.Asset{Currency: d.currency, Serial: demoSerial(rng), Name: demoAssetName(d.tenant.Slug, m.category, named[m.category])}
			p := &demoAsset{asset: a, model: m}
			r := rng.Float64()
			switch {
			case m.holder == "":
				p.status = demoDeployed
			case r < 0.05:
				p.status = demoRetired
			case r < 0.10:
				p.status = demoRepair
			case r < 0.13:
				p.status = demoPending
			case r < 0.38:
				p.status = demoReady
			default:
				p.status = demoDeployed
				p.holder = m.holder
			}
			age := 30 + rng.IntN(4*365)
			if p.status == demoRetired {
				age = 3*365 + rng.IntN(3*365)
			}
			bought := today.AddDate(0, 0, -age)
			// Every 29th asset in service has a warranty ending within a
			// month, so the dashboard has some to show.
			if len(out)%29 == 7 && p.status != demoRetired {
				bought = today.AddDate(0, 0, 3+rng.IntN(24)).AddDate(0, -m.warranty, 1)
			}
			a.PurchaseDate = bought.Format(time.DateOnly)
			a.WarrantyMonths = &m.warranty
			cost := m.costCents * int64(90+rng.IntN(21)) / 100 / 100 * 100
			a.CostCents = &cost
			a.OrderNumber = fmt.Sprintf("PO-%d-%04d", bought.Year(), 1+rng.IntN(9999))
			a.LocationID = m.places[0]
			a.DepartmentID = m.dept
			switch p.holder {
			case qm.HolderUser:
				who := people[next[m.category]%len(people)]
				next[m.category]++
				p.to, a.DepartmentID = who.email, who.dept
			case qm.HolderLocation:
				p.to = m.places[rng.IntN(len(m.places))]
			}
			a.Fields = demoFields(rng, m, named[m.category])
			out = append(out, p)
		}
	}
	return out
}

// demoAssetName names the assets people tell apart by name: computers by
// host name, vehicles by number.
func demoAssetName(slug, category string, n int) string {
	switch category {
	case "Laptops", "Desktops", "Servers":
		kind := map[string]string{"Laptops": "lt", "Desktops": "pc", "Servers": "srv"}[category]
		return fmt.Sprintf("%s-%s-%03d", slug, kind, n)
	case "Vehicles":
		return fmt.Sprintf("Van %d", n)
	}
	return ""
}

func demoSerial(rng *rand.Rand) string {
	const chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, 10)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}

// demoFields are the custom field values of the nth asset of m's
// category, by key.
func demoFields(rng *rand.Rand, m *demoModel, n int) map[string]any {
	switch m.category {
	case "Laptops":
		os, ram := "Windows 11", []int{16, 32}
		switch {
		case m.maker == "Apple":
			os, ram = "macOS", []int{18, 36}
		case rng.IntN(5) == 0:
			os = "Ubuntu"
		}
		return map[string]any{"ram_gb": ram[rng.IntN(len(ram))], "os": os, "encrypted": rng.IntN(10) > 0}
	case "Vehicles":
		return map[string]any{"licence_plate": fmt.Sprintf("B-QM %d", 100+n), "fuel": "Diesel"}
	}
	return nil
}

// demoStores are the stores a tenant is seeded through.
type demoStores struct {
	refs         map[string]*dataplane.ReferenceStore // by list name
	locations    *dataplane.LocationStore
	departments  *dataplane.DepartmentStore
	depreciation *dataplane.DepreciationStore
	fields       *dataplane.FieldStore
	models       *dataplane.ModelStore
	assets       *dataplane.AssetStore
	licenses     *dataplane.LicenseStore
	maintenance  *dataplane.MaintenanceStore
}

func newDemoStores(r sqlstore.Router, id *catalog.Identity) *demoStores {
	s := &demoStores{refs: map[string]*dataplane.ReferenceStore{},
		locations: dataplane.NewLocationStore(r, time.Now), departments: dataplane.NewDepartmentStore(r, time.Now),
		depreciation: dataplane.NewDepreciationStore(r, time.Now), fields: dataplane.NewFieldStore(r, time.Now),
		models: dataplane.NewModelStore(r, time.Now), assets: dataplane.NewAssetStore(r, id, time.Now),
		licenses: dataplane.NewLicenseStore(r, id, time.Now), maintenance: dataplane.NewMaintenanceStore(r, time.Now)}
	for _, l := range qm.ReferenceLists {
		s.refs[l.Name] = dataplane.NewReferenceStore(l, r, time.Now)
	}
	return s
}

// demoExisting are the ids of what a tenant has already, by name: a new
// tenant's status labels, or what an older demo made.
type demoExisting struct {
	refs        map[string]map[string]string // list → name → id
	locations   map[string]string
	departments map[string]string
}

// readExisting reads what a tenant has, before it is seeded.
func readExisting(ctx context.Context, s *demoStores) (*demoExisting, error) {
	ex := &demoExisting{refs: map[string]map[string]string{}, locations: map[string]string{}, departments: map[string]string{}}
	for name, store := range s.refs {
		ex.refs[name] = map[string]string{}
		rs, err := store.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			ex.refs[name][r.Name] = r.ID
		}
	}
	locs, err := s.locations.Locations(ctx, qm.LocationFilter{Limit: qm.MaxLocationPage})
	if err != nil {
		return nil, err
	}
	for _, l := range locs {
		ex.locations[l.Name] = l.ID
	}
	depts, err := s.departments.Departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		ex.departments[d.Name] = d.ID
	}
	return ex, nil
}

// demoCounts says what seeding made, for the printout.
type demoCounts struct {
	assets, out, licenses int
}

// seedTenant writes the tenant's demo data through s, whose router holds
// one transaction: the tenant is seeded whole or not at all. people are
// members already; users are their ids by email.
func seedTenant(ctx context.Context, s *demoStores, ex *demoExisting, d *demoTenant, people []demoPerson, users map[string]string, today time.Time) (*demoCounts, error) {
	n := &demoCounts{}
	ref := func(list qm.ReferenceList, name, kind string) (string, error) {
		if id, ok := ex.refs[list.Name][name]; ok {
			return id, nil
		}
		r := &qm.Reference{Name: name, Kind: kind}
		if err := s.refs[list.Name].Create(ctx, r); err != nil {
			return "", fmt.Errorf("%s %s: %w", list.Noun, name, err)
		}
		ex.refs[list.Name][name] = r.ID
		return r.ID, nil
	}
	statuses := map[string]string{}
	for _, st := range demoStatuses {
		id, err := ref(qm.StatusLabels, st.Name, st.Kind)
		if err != nil {
			return nil, err
		}
		statuses[st.Name] = id
	}
	for _, l := range d.locations {
		if _, ok := ex.locations[l[0]]; ok {
			continue
		}
		loc := &qm.Location{Name: l[0], ParentID: ex.locations[l[1]]}
		if err := s.locations.CreateLocation(ctx, loc); err != nil {
			return nil, fmt.Errorf("location %s: %w", l[0], err)
		}
		ex.locations[loc.Name] = loc.ID
	}
	for _, dp := range d.departments {
		if _, ok := ex.departments[dp[0]]; ok {
			continue
		}
		dept := &qm.Department{Name: dp[0], ParentID: ex.departments[dp[1]]}
		if err := s.departments.CreateDepartment(ctx, dept); err != nil {
			return nil, fmt.Errorf("department %s: %w", dp[0], err)
		}
		ex.departments[dept.Name] = dept.ID
	}
	categories := map[string]string{}
	for _, m := range d.models {
		if _, ok := categories[m.category]; ok {
			continue
		}
		id, err := ref(qm.Categories, m.category, "asset")
		if err != nil {
			return nil, err
		}
		categories[m.category] = id
	}
	for _, sch := range demoSchedules {
		dep := &qm.Depreciation{Name: sch.name, Months: sch.months}
		for _, c := range sch.categories {
			if id, ok := categories[c]; ok {
				dep.CategoryIDs = append(dep.CategoryIDs, id)
			}
		}
		if len(dep.CategoryIDs) == 0 {
			continue
		}
		if err := s.depreciation.CreateDepreciation(ctx, dep); err != nil {
			return nil, fmt.Errorf("depreciation %s: %w", sch.name, err)
		}
	}
	for _, set := range demoFieldSets {
		cat, ok := categories[set.category]
		if !ok {
			continue
		}
		fs := &qm.FieldSet{Name: set.name, CategoryIDs: []string{cat}}
		for _, f := range set.fields {
			if err := s.fields.CreateField(ctx, &f); err != nil {
				return nil, fmt.Errorf("custom field %s: %w", f.Name, err)
			}
			fs.FieldIDs = append(fs.FieldIDs, f.ID)
		}
		if err := s.fields.CreateFieldSet(ctx, fs); err != nil {
			return nil, fmt.Errorf("field set %s: %w", set.name, err)
		}
	}
	models := map[*demoModel]string{}
	for i := range d.models {
		dm := &d.models[i]
		maker, err := ref(qm.Manufacturers, dm.maker, "")
		if err != nil {
			return nil, err
		}
		m := &qm.Model{Name: dm.name, ModelNumber: dm.number, CategoryID: categories[dm.category], ManufacturerID: maker}
		if err := s.models.CreateModel(ctx, m); err != nil {
			return nil, fmt.Errorf("model %s: %w", dm.name, err)
		}
		models[dm] = m.ID
	}

	plan := planAssets(d, people, today)
	deployed := map[string][]*qm.Asset{} // by category, for what is checked out to them
	for _, p := range plan {
		a := p.asset
		a.ModelID, a.StatusID = models[p.model], statuses[p.status]
		a.LocationID, a.DepartmentID = ex.locations[a.LocationID], ex.departments[a.DepartmentID]
		var err error
		if a.SupplierID, err = ref(qm.Suppliers, p.model.supplier, ""); err != nil {
			return nil, err
		}
		if err := s.assets.CreateAsset(ctx, a); err != nil {
			return nil, fmt.Errorf("asset of model %s: %w", p.model.name, err)
		}
		n.assets++
		if p.status == demoDeployed {
			deployed[p.model.category] = append(deployed[p.model.category], a)
		}
	}
	// Checked out once all are made, so an asset can hold one made after it.
	held := map[string]int{}
	for _, p := range plan {
		co := qm.CheckOut{HolderType: p.holder}
		switch p.holder {
		case "":
			continue
		case qm.HolderUser:
			co.HolderID = users[p.to]
		case qm.HolderLocation:
			co.HolderID = ex.locations[p.to]
		default:
			cat := strings.TrimPrefix(p.holder, "asset:")
			holders := deployed[cat]
			if len(holders) == 0 {
				continue
			}
			co.HolderType, co.HolderID = qm.HolderAsset, holders[held[cat]%len(holders)].ID
			held[cat]++
		}
		if _, err := s.assets.CheckOut(ctx, p.asset.ID, co); err != nil {
			return nil, fmt.Errorf("check out %s: %w", p.asset.Tag, err)
		}
		n.out++
	}

	for _, dl := range d.licenses {
		maker, err := ref(qm.Manufacturers, dl.maker, "")
		if err != nil {
			return nil, err
		}
		l := &qm.License{Name: dl.name, ManufacturerID: maker, Seats: dl.seats, ProductKey: demoKey(dl)}
		if dl.expiresInDays > 0 {
			l.ExpiresOn = today.AddDate(0, 0, dl.expiresInDays).Format(time.DateOnly)
		}
		if err := s.licenses.CreateLicense(ctx, l); err != nil {
			return nil, fmt.Errorf("license %s: %w", dl.name, err)
		}
		n.licenses++
		for i := range min(dl.users, len(people)) {
			if _, err := s.licenses.AssignSeat(ctx, l.ID, qm.HolderUser, users[people[i].email]); err != nil {
				return nil, fmt.Errorf("seat of %s: %w", dl.name, err)
			}
		}
		for i, a := range deployed[dl.category] {
			if i == dl.assets {
				break
			}
			if _, err := s.licenses.AssignSeat(ctx, l.ID, qm.HolderAsset, a.ID); err != nil {
				return nil, fmt.Errorf("seat of %s: %w", dl.name, err)
			}
		}
	}

	for _, dm := range d.maintenances {
		a := nthAsset(plan, dm.model, dm.status, dm.nth)
		if a == nil {
			continue
		}
		supplier, err := ref(qm.Suppliers, dm.supplier, "")
		if err != nil {
			return nil, err
		}
		start := today.AddDate(0, 0, -dm.startedDaysAgo)
		m := &qm.Maintenance{Kind: dm.kind, Title: dm.title, StartedOn: start.Format(time.DateOnly), SupplierID: supplier}
		if dm.doneDays >= 0 {
			m.CompletedOn = start.AddDate(0, 0, dm.doneDays).Format(time.DateOnly)
		}
		if dm.costCents > 0 {
			m.CostCents = &dm.costCents
		}
		if err := s.maintenance.AddMaintenance(ctx, a.ID, m); err != nil {
			return nil, fmt.Errorf("maintenance %s: %w", dm.title, err)
		}
	}
	return n, nil
}

// nthAsset returns the nth planned asset of the model with the status ("" any).
func nthAsset(plan []*demoAsset, model, status string, nth int) *qm.Asset {
	for _, p := range plan {
		if p.model.name == model && (status == "" || p.status == status) {
			if nth == 0 {
				return p.asset
			}
			nth--
		}
	}
	return nil
}

// demoKey is a made-up product key, the same on every run.
func demoKey(l demoLicense) string {
	if l.productKeyParts == 0 {
		return ""
	}
	rng := demoRand(l.name)
	parts := make([]string, l.productKeyParts)
	for i := range parts {
		parts[i] = demoSerial(rng)[:5]
	}
	return strings.Join(parts, "-")
}

// oneTx is a sqlstore.Router that runs every call in the one transaction
// it holds: the stores' rules hold as they do for the API, and what they
// write commits together, or not at all.
type oneTx struct{ c sqlstore.Conn }

func (r oneTx) View(ctx context.Context, fn func(sqlstore.Conn) error) error   { return fn(r.c) }
func (r oneTx) Update(ctx context.Context, fn func(sqlstore.Conn) error) error { return fn(r.c) }
