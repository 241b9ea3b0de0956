package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// demoPassword is every demo user's password. Demo data is for trying the
// server out on one's own machine, never for a real deployment.
const demoPassword = "quartermaster-demo"

// demoTenant is a tenant `quartermaster demo` creates, and what it is
// seeded with.
type demoTenant struct {
	tenant      qm.NewTenant
	currency    string
	locations   [][2]string // name, parent name
	departments [][2]string // name, parent name
	members     [][2]string // email, role: the accounts to sign in with
	// people hold assets and seats: staff made up from demoFirstNames and
	// demoLastNames, members with the viewer role.
	people       int
	models       []demoModel
	licenses     []demoLicense
	maintenances []demoMaintenance
	// vehicles are the assets "Van 1", "Van 2", … linked to the devices
	// `serve --simulate SLUG:N` reports as (simIdent "demo").
	vehicles int
}

// demoTenants are created by `quartermaster demo`: one per tier SQLite
// hosts.
var demoTenants = []demoTenant{
	{
		tenant:   qm.NewTenant{Slug: "acme", Name: "Acme Corp", Tier: qm.TierPool},
		currency: "USD",
		locations: [][2]string{
			{"Headquarters", ""}, {"Server room", "Headquarters"}, {"IT storage", "Headquarters"},
			{"North depot", ""}, {"Garage", "North depot"}, {"Berlin office", ""},
		},
		departments: [][2]string{{"IT", ""}, {"Operations", ""}, {"Fleet", "Operations"}, {"Finance", ""}, {"Sales", ""}},
		members:     [][2]string{{"admin@acme.example", "admin"}, {"viewer@acme.example", "viewer"}},
		people:      40,
		models: []demoModel{
			{"Latitude 5440", "5440", "Laptops", "Dell", "CDW", 25, 1_249_00, 36, qm.HolderUser, []string{"IT storage"}, "IT"},
			{"ThinkPad T14 Gen 4", "21HD", "Laptops", "Lenovo", "CDW", 20, 1_399_00, 36, qm.HolderUser, []string{"IT storage"}, "IT"},
			{"MacBook Pro 14\"", "MRX33", "Laptops", "Apple", "Apple Business", 15, 1_999_00, 12, qm.HolderUser, []string{"IT storage"}, "IT"},
			{"OptiPlex 7010", "7010", "Desktops", "Dell", "CDW", 30, 899_00, 36, qm.HolderLocation, []string{"Headquarters", "Berlin office", "North depot"}, "Finance"},
			{"WD19S Dock", "WD19S", "Docking stations", "Dell", "CDW", 25, 229_00, 36, "asset:Laptops", []string{"IT storage"}, "IT"},
			{"UltraSharp U2723QE", "U2723QE", "Monitors", "Dell", "Insight", 60, 579_00, 36, "asset:Desktops", []string{"IT storage"}, "IT"},
			{"ThinkVision T24i-30", "63CF", "Monitors", "Lenovo", "Insight", 30, 229_00, 36, qm.HolderUser, []string{"IT storage"}, "IT"},
			{"iPhone 15", "A3090", "Phones", "Apple", "Apple Business", 30, 799_00, 12, qm.HolderUser, []string{"IT storage"}, "Sales"},
			{"Galaxy S23", "SM-S911B", "Phones", "Samsung", "Insight", 15, 699_00, 24, qm.HolderUser, []string{"IT storage"}, "Operations"},
			{"iPad Air 11\"", "A2902", "Tablets", "Apple", "Apple Business", 15, 599_00, 12, qm.HolderUser, []string{"IT storage"}, "Sales"},
			{"PowerEdge R760", "R760", "Servers", "Dell", "CDW", 10, 8_900_00, 60, qm.HolderLocation, []string{"Server room"}, "IT"},
			{"Catalyst 9200L", "C9200L-24P", "Network", "Cisco", "Insight", 6, 2_400_00, 60, qm.HolderLocation, []string{"Server room", "North depot"}, "IT"},
			{"UniFi U6 Pro", "U6-Pro", "Network", "Ubiquiti", "Insight", 14, 159_00, 24, qm.HolderLocation, []string{"Headquarters", "Berlin office", "North depot"}, "IT"},
			{"HL-L8360CDW", "L8360", "Printers", "Brother", "Insight", 8, 489_00, 12, qm.HolderLocation, []string{"Headquarters", "Berlin office", "North depot"}, "IT"},
			{"Transit Custom", "V710", "Vehicles", "Ford", "City Motors", 3, 42_500_00, 36, "", []string{"Garage"}, "Fleet"},
		},
		licenses: []demoLicense{
			{"Microsoft 365 Business Standard", "Microsoft", 45, 36, 0, "", 240, 0},
			{"Adobe Acrobat Pro", "Adobe", 10, 9, 0, "", 150, 0},
			{"Slack Pro", "Slack", 40, 30, 0, "", 12, 0},
			{"Windows Server 2022 Standard", "Microsoft", 12, 0, 8, "Servers", 0, 5},
			{"JetBrains All Products Pack", "JetBrains", 5, 3, 0, "", 300, 0},
		},
		maintenances: []demoMaintenance{
			{"Latitude 5440", demoRepair, 0, "repair", "Replace keyboard", "CDW", 6, -1, 0},
			{"ThinkPad T14 Gen 4", demoRepair, 0, "hardware support", "Battery swells: replace under warranty", "CDW", 12, -1, 0},
			{"PowerEdge R760", "", 0, "upgrade", "Add 256 GB RAM", "CDW", 90, 1, 2_150_00},
			{"Transit Custom", "", 0, "maintenance", "Annual service and inspection", "City Motors", 40, 1, 420_00},
			{"Transit Custom", "", 1, "repair", "Replace brake pads", "City Motors", 3, -1, 0},
		},
		vehicles: 3,
	},
	{
		tenant:   qm.NewTenant{Slug: "globex", Name: "Globex Logistics", Tier: qm.TierSilo},
		currency: "EUR",
		locations: [][2]string{
			{"Main warehouse", ""}, {"Loading bay", "Main warehouse"}, {"Warehouse office", "Main warehouse"}, {"Rotterdam hub", ""},
		},
		departments: [][2]string{{"IT", ""}, {"Operations", ""}, {"Warehouse", "Operations"}, {"Finance", ""}},
		members:     [][2]string{{"admin@globex.example", "admin"}, {"viewer@globex.example", "viewer"}},
		people:      20,
		models: []demoModel{
			{"ThinkPad T14 Gen 4", "21HD", "Laptops", "Lenovo", "Bechtle", 20, 1_349_00, 36, qm.HolderUser, []string{"Warehouse office"}, "IT"},
			{"Latitude 5440", "5440", "Laptops", "Dell", "Bechtle", 10, 1_199_00, 36, qm.HolderUser, []string{"Warehouse office"}, "IT"},
			{"OptiPlex 7010", "7010", "Desktops", "Dell", "Bechtle", 10, 849_00, 36, qm.HolderLocation, []string{"Warehouse office", "Rotterdam hub"}, "Finance"},
			{"P2423D", "P2423D", "Monitors", "Dell", "Bechtle", 10, 249_00, 36, "asset:Desktops", []string{"Warehouse office"}, "IT"},
			{"TC52 Mobile Computer", "TC520K", "Scanners", "Zebra", "Zebra Direct", 50, 1_150_00, 36, qm.HolderLocation, []string{"Loading bay", "Rotterdam hub"}, "Warehouse"},
			{"Galaxy XCover6 Pro", "SM-G736B", "Phones", "Samsung", "Bechtle", 20, 499_00, 24, qm.HolderUser, []string{"Warehouse office"}, "Operations"},
			{"ZT411 Label Printer", "ZT41142", "Printers", "Zebra", "Zebra Direct", 10, 1_890_00, 12, qm.HolderLocation, []string{"Loading bay", "Rotterdam hub"}, "Warehouse"},
			{"UniFi U6 Mesh", "U6-Mesh", "Network", "Ubiquiti", "Bechtle", 15, 179_00, 24, qm.HolderLocation, []string{"Main warehouse", "Loading bay", "Rotterdam hub"}, "IT"},
		},
		licenses: []demoLicense{
			{"Microsoft 365 Business Basic", "Microsoft", 25, 18, 0, "", 200, 0},
			{"SOTI MobiControl", "SOTI", 40, 0, 30, "Scanners", 20, 4},
			{"Adobe Acrobat Standard", "Adobe", 5, 4, 0, "", 90, 0},
		},
		maintenances: []demoMaintenance{
			{"TC52 Mobile Computer", demoRepair, 0, "repair", "Cracked screen", "Zebra Direct", 4, -1, 0},
			{"ZT411 Label Printer", "", 0, "calibration", "Print head calibration", "Zebra Direct", 20, 0, 95_00},
		},
	},
}

// demoHash is the demo password's hash, made once: every demo user has it.
var demoHash = sync.OnceValues(func() (string, error) { return password.Hash(demoPassword) })

// demoUser returns the demo user with the email, creating it if missing.
func demoUser(ctx context.Context, id *catalog.Identity, email, name string, operator bool) (*qm.User, error) {
	u, _, err := id.UserByEmail(ctx, email)
	if qm.ErrorCode(err) != qm.ENotFound {
		return u, err
	}
	hash, err := demoHash()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	u = &qm.User{Email: email, Name: name, Operator: operator}
	return u, id.CreateUser(ctx, u, hash, time.Now())
}

func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("demo", stderr)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := demoUser(ctx, e.Identity(), "operator@example.com", "", true); err != nil {
		return fmt.Errorf("demo operator: %w", err)
	}
	for i := range demoTenants {
		d := &demoTenants[i]
		if err := seedDemoTenant(ctx, e, d, stdout); err != nil {
			return fmt.Errorf("demo tenant %s: %w", d.tenant.Slug, err)
		}
	}
	fmt.Fprintf(stdout, "\nSign in with any of these, password %q:\n  operator@example.com (operator)\n", demoPassword)
	for _, d := range demoTenants {
		for _, m := range d.members {
			fmt.Fprintf(stdout, "  %s (%s of %s)\n", m[0], m[1], d.tenant.Slug)
		}
	}
	fmt.Fprintln(stdout, "  and the staff of each, viewers who hold its assets, such as "+demoTenants[0].staff()[0].email)
	fmt.Fprintln(stdout, `for example: curl -c cookies -H 'Content-Type: application/json' -d '{"email":"admin@acme.example","password":"`+demoPassword+`"}' http://127.0.0.1:8080/api/v1/auth/login`)
	return nil
}

// seedDemoTenant creates a demo tenant, unless it exists, and seeds it,
// unless it has assets: a tenant an interrupted run left without its data
// is seeded again, whole, since its data is written in one transaction.
// Then it links the tenant's simulated vehicles to their vans.
func seedDemoTenant(ctx context.Context, e engine, d *demoTenant, stdout io.Writer) error {
	t, err := e.Tenants().Tenant(ctx, d.tenant.Slug)
	if qm.ErrorCode(err) == qm.ENotFound {
		t, err = e.Tenants().CreateTenant(ctx, d.tenant)
	}
	if err != nil {
		return err
	}
	tctx := tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), cliOperator)
	page, err := dataplane.NewAssetStore(e, e.Identity(), time.Now).Assets(tctx, qm.AssetFilter{Limit: 1})
	if err != nil {
		return err
	}
	if page.Total > 0 {
		fmt.Fprintf(stdout, "demo tenant %s exists (%s)\n", t.Slug, where(t))
		_, err := demoVehicles(tctx, e, t, d.vehicles)
		return err
	}
	start := time.Now()
	people := d.staff()
	users := map[string]string{} // ids by email
	join := func(email, name, role string) error {
		u, err := demoUser(ctx, e.Identity(), email, name, false)
		if err == nil {
			err = e.Identity().SetMembership(ctx, &qm.Membership{TenantID: t.ID, UserID: u.ID, Role: role}, time.Now())
		}
		if err != nil {
			return fmt.Errorf("member %s: %w", email, err)
		}
		users[email] = u.ID
		return nil
	}
	for _, m := range d.members {
		if err := join(m[0], "", m[1]); err != nil {
			return err
		}
	}
	for _, p := range people {
		if err := join(p.email, p.name, "viewer"); err != nil {
			return err
		}
	}
	ex, err := readExisting(tctx, newDemoStores(e, e.Identity()))
	if err != nil {
		return err
	}
	var n *demoCounts
	err = e.Update(tctx, func(c sqlstore.Conn) error {
		var err error
		n, err = seedTenant(tctx, newDemoStores(oneTx{c}, e.Identity()), ex, d, people, users, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	linked, err := demoVehicles(tctx, e, t, d.vehicles)
	if err != nil {
		return err
	}
	if err := demoRules(tctx, e); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created demo tenant %s (%s): %d assets, %d checked out, %d licenses, %d members",
		t.Slug, where(t), n.assets, n.out, n.licenses, len(users))
	if linked > 0 {
		fmt.Fprintf(stdout, ", %d simulated vehicles linked to vans", linked)
	}
	fmt.Fprintf(stdout, " (%v)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// demoVehicles registers the devices `serve --simulate SLUG:N` reports as,
// assigns them to the tenant, and links each the tenant has not named nor
// linked yet to its van, "Van 1", "Van 2", …. It returns how many it
// linked.
func demoVehicles(ctx context.Context, e engine, t *qm.Tenant, n int) (int, error) {
	inv := e.Devices()
	fleet := telemetry.NewFleetStore(e, inv, time.Now)
	assets := dataplane.NewAssetStore(e, e.Identity(), time.Now)
	linked := 0
	for i := 1; i <= n; i++ {
		ident := simIdent("demo", t.Slug, i)
		d, err := inv.Device(ctx, ident)
		if qm.ErrorCode(err) == qm.ENotFound {
			d = simDevice(ident)
			_, err = inv.RegisterDevice(ctx, d)
		}
		if err != nil {
			return linked, fmt.Errorf("device %s: %w", ident, err)
		}
		if d.TenantID != t.ID {
			if _, _, err := inv.AssignDevice(ctx, d.ID, t); err != nil {
				return linked, fmt.Errorf("device %s: %w", ident, err)
			}
		}
		fd, err := fleet.Device(ctx, d.ID)
		if err != nil {
			return linked, fmt.Errorf("device %s: %w", ident, err)
		}
		if fd.Name != "" || fd.AssetID != "" {
			continue // the tenant's own choice
		}
		name := fmt.Sprintf("Van %d", i)
		page, err := assets.Assets(ctx, qm.AssetFilter{Q: name, Limit: 100})
		if err != nil {
			return linked, err
		}
		for _, a := range page.Assets {
			if a.Name != name {
				continue
			}
			u := qm.FleetDeviceUpdate{Name: &name, AssetID: &a.ID, DepartmentID: &a.DepartmentID}
			if _, err := fleet.UpdateDevice(ctx, d.ID, u); err != nil {
				return linked, fmt.Errorf("device %s: %w", ident, err)
			}
			linked++
			break
		}
	}
	return linked, nil
}

// demoRules gives a demo tenant rules to watch its fleet and its assets
// with, so its console has alarms to show: the simulated vans drive at 30
// to 70 km/h, and some assets' warranties end soon.
func demoRules(ctx context.Context, e engine) error {
	rules := alerts.NewRuleStore(e, telemetry.NewFleetStore(e, e.Devices(), time.Now), time.Now)
	for _, d := range []qm.RuleDefinition{
		{Name: "Faster than 60 km/h", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning, SpeedKMH: 60, ForS: 20, Enabled: true},
		{Name: "Silent for 15 minutes", Kind: qm.RuleOffline, Severity: qm.SeverityMajor, OfflineMinutes: 15, Enabled: true},
		{Name: "Warranty ends within 30 days", Kind: qm.RuleWarranty, Severity: qm.SeverityInfo, WithinDays: 30, Enabled: true},
		{Name: "Overdue", Kind: qm.RuleOverdue, Severity: qm.SeverityMinor, Enabled: true},
	} {
		if _, err := rules.CreateRule(ctx, d); err != nil && qm.ErrorCode(err) != qm.EFeatureDisabled {
			return fmt.Errorf("demo rule %s: %w", d.Name, err)
		}
	}
	return nil
}
