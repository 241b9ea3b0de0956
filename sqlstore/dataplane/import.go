package dataplane

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// errImportRolledBack ends an import's transaction without an error of its
// own: a dry run, or bad rows without SkipBadRows.
var errImportRolledBack = errors.New("import rolled back")

// maxProblems bounds the bad rows a report lists; Failed counts them all.
const maxProblems = 1000

// importBatch is how many rows an import looks up, and writes, together:
// one statement for each on PostgreSQL. Few enough to keep the memory an
// import takes small, enough that a statement costs little per row.
const importBatch = 500

// importer holds one import's state: the tenant's names, found or made,
// the tags seen, and the rows read but not yet written.
type importer struct {
	s      *AssetStore
	ctx    context.Context
	c      sqlstore.Conn
	opts   qm.ImportOptions
	names  map[string]map[string]string // table → lower-case name → id
	models map[string]string            // lower name + "\x00" + model number → id
	// tags are the tags of the batch's rows (lower-case) and the row that
	// has each: a tag of an earlier batch is found in the database, written
	// there by this import (see started), so memory stays bounded however
	// long the file.
	tags map[string]tagUse
	// started is when the import began: an asset it finds updated since
	// was written by an earlier row of the file.
	started time.Time
	// known holds every tag the tenant may have, for find.
	known  *tagFilter
	status string // the default status: the first deployable label
	// scope is the departments a department-confined importer may place
	// assets in; nil for an importer confined to none.
	scope   map[string]bool
	counter tagCounter
	batch   []pending
	rep     *qm.ImportReport
	// The tenant's custom fields, by lower-case name and by key, and the
	// columns already warned of that name none.
	fields  *fieldCatalog
	columns map[string]*qm.CustomField
	warned  map[string]bool
	unique  map[string]int // field id + "\x00" + value of a unique field → the line that has it
	// users are the tenant's members' ids by email (and user name);
	// deployable are the status labels an asset checked out may have.
	users      map[string]string
	deployable map[string]bool
	// missing are the people named who are not members, by lower-case
	// name: their index in the report's Unassigned.
	missing map[string]int
	// invitees are the people to invite (InviteMissingUsers), by
	// lower-case name, in the order the file first names them.
	invitees *invitees
	// assets counts the tenant's assets, with those this import makes,
	// while its plan caps them (-1 otherwise) under limits.
	assets int64
	limits qm.Effective
}

// tagUse is the row of the file that has a tag, and whether the import gave
// it, to a row without one.
type tagUse struct {
	line  int
	given bool
}

// pending is a row read and checked on its own, to be written with its
// batch.
type pending struct {
	line     int
	asset    qm.Asset
	problems []string
	before   *qm.Asset // the asset with the row's tag, nil for a new one
	after    *qm.Asset // the asset to write
	untagged bool      // the row gave no tag
	missing  string    // the lower-case name of the row's holder who is not a member
	// holderTag is the tag of the asset the row checks its asset out to.
	holderTag string
	given     map[string]any
	change    fieldChange
}

// Import reads rows from next until io.EOF and creates or updates (by tag)
// the tenant's assets, in one transaction: a dry run, or a bad row without
// SkipBadRows, rolls it all back, and the report says what would have been
// done. Categories, manufacturers, models, locations, suppliers, status
// labels (and, when asked, departments) named but missing are made in this
// tenant only. A row checked out to someone who is not a member imports
// unassigned, with a warning naming them and their lines; with
// InviteMissingUsers, each such person with an email is invited once the
// import commits, to have their assets checked out on accepting (see
// invite).
func (s *AssetStore) Import(ctx context.Context, next func() (*qm.ImportRow, error), opts qm.ImportOptions) (*qm.ImportReport, error) {
	if err := s.inviteOptions(&opts); err != nil {
		return nil, err
	}
	rep := &qm.ImportReport{DryRun: opts.DryRun, Made: map[string]int{}, Problems: []qm.ImportProblem{}}
	var im *importer
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		im = &importer{s: s, ctx: ctx, c: c, opts: opts, rep: rep, names: map[string]map[string]string{}, models: map[string]string{},
			tags: map[string]tagUse{}, started: sqlstore.Timestamp(s.now())}
		if err := im.load(); err != nil {
			return err
		}
		for {
			row, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			rep.Rows++
			if err := im.row(row); err != nil {
				return err
			}
		}
		if err := im.flush(); err != nil {
			return err
		}
		im.planInvitations()
		im.warnUnassigned()
		if opts.DryRun || rep.Failed > 0 && !opts.SkipBadRows {
			return errImportRolledBack
		}
		return sqlstore.Audit(ctx, c, s.now(), "assets.import", "asset", "", nil,
			map[string]any{"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated, "failed": rep.Failed})
	})
	switch {
	case errors.Is(err, errImportRolledBack):
		return rep, nil
	case err != nil:
		return rep, err
	}
	rep.Committed = true
	s.invite(ctx, im)
	return rep, nil
}

// load reads the tenant's names of everything a row may name, and the
// departments a department-confined importer may place assets in.
func (im *importer) load() error {
	for _, table := range []string{"categories", "manufacturers", "suppliers", "status_labels", "locations", "departments"} {
		im.names[table] = map[string]string{}
		rows, err := im.c.Query(im.ctx, `SELECT id, name FROM `+table+` WHERE tenant_id = $1`, im.c.TenantID())
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			im.names[table][strings.ToLower(name)] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	err := im.c.QueryRow(im.ctx, `SELECT id FROM status_labels WHERE tenant_id = $1 AND kind = $2 ORDER BY name LIMIT 1`,
		im.c.TenantID(), qm.StatusDeployable).Scan(&im.status)
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) {
		return err
	}
	rows, err := im.c.Query(im.ctx, `SELECT id, name, model_number FROM models WHERE tenant_id = $1`, im.c.TenantID())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, number string
		if err := rows.Scan(&id, &name, &number); err != nil {
			return err
		}
		im.models[strings.ToLower(name)+"\x00"+number] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := im.loadExtras(); err != nil {
		return err
	}
	// The cap on assets is applied row by row (roomForAsset), from the
	// count loadTags takes, under the cap's lock: a file that only updates
	// is welcome at the cap.
	limits, capped, err := sqlstore.LockCap(im.ctx, im.c, qm.MaxAssets)
	if err != nil {
		return err
	}
	count, err := im.loadTags()
	if err != nil {
		return err
	}
	im.limits, im.assets = limits, -1
	if capped {
		im.assets = count
	}
	if err := im.loadInvitees(); err != nil {
		return err
	}
	im.scope, err = sqlstore.DepartmentsInScope(im.ctx, im.c)
	return err
}

// roomForAsset checks that the tenant's plan has room for one more asset,
// and counts it.
func (im *importer) roomForAsset() error {
	if im.assets < 0 {
		return nil
	}
	if err := im.limits.Room(qm.MaxAssets, im.assets, 1); err != nil {
		return err
	}
	im.assets++
	return nil
}

// refusedBy is the problem a row has when a cap of the tenant's plan
// refused it; the report names the first such cap.
func (im *importer) refusedBy(err error) string {
	var e *qm.Error
	if errors.As(err, &e) && e.Limit != nil && im.rep.LimitReached == nil {
		im.rep.LimitReached = e.Limit
	}
	return qm.ErrorMessage(err)
}

// loadTags fills known with the tenant's tags, and returns how many
// assets the tenant has.
func (im *importer) loadTags() (int64, error) {
	n, err := sqlstore.CountRows(im.ctx, im.c, "assets")()
	if err != nil {
		return 0, fmt.Errorf("count assets: %w", err)
	}
	im.known = newTagFilter(int(n))
	if n == 0 {
		return 0, nil
	}
	return n, sqlstore.Each(im.ctx, im.c, func(r sqlstore.Row) error {
		var tag string
		err := r.Scan(&tag)
		im.known.add(tag)
		return err
	}, `SELECT tag FROM assets WHERE tenant_id = $1`, im.c.TenantID())
}

// named returns the id of the entry of table called name, making it when
// missing. "" stays "".
func (im *importer) named(table, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if id, ok := im.names[table][strings.ToLower(name)]; ok {
		return id, nil
	}
	now := sqlstore.Timestamp(im.s.now())
	id := sqlstore.NewID()
	var err error
	switch table {
	case "locations":
		if err := sqlstore.Room(im.ctx, im.c, qm.MaxLocations, 1, sqlstore.CountRows(im.ctx, im.c, "locations")); err != nil {
			return "", err
		}
		_, err = im.c.Exec(im.ctx, `INSERT INTO locations (tenant_id, id, name, address, notes, created_at, updated_at) VALUES ($1, $2, $3, '', '', $4, $4)`,
			im.c.TenantID(), id, name, now)
	case "departments":
		_, err = im.c.Exec(im.ctx, `INSERT INTO departments (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
			im.c.TenantID(), id, name, now)
	default:
		list := map[string]qm.ReferenceList{"categories": qm.Categories, "manufacturers": qm.Manufacturers, "suppliers": qm.Suppliers,
			"status_labels": qm.StatusLabels}[table]
		r := &qm.Reference{ID: id, Name: name, CreatedAt: now, UpdatedAt: now}
		if table == "status_labels" {
			r.Kind = qm.StatusKindFor(name)
			im.deployable[id] = r.Kind == qm.StatusDeployable
		}
		list.Normalize(r)
		err = (&ReferenceStore{list: list}).insert(im.ctx, im.c, r)
	}
	if err != nil {
		return "", fmt.Errorf("make %s %q: %w", table, name, err)
	}
	if err := sqlstore.Audit(im.ctx, im.c, now, "import.make", table, id, nil, map[string]any{"name": name}); err != nil {
		return "", err
	}
	im.names[table][strings.ToLower(name)] = id
	im.rep.Made[table]++
	return id, nil
}

// model returns the id of the row's model, making it when missing.
func (im *importer) model(row *qm.ImportRow) (string, error) {
	key := strings.ToLower(row.Model) + "\x00" + row.ModelNumber
	if id, ok := im.models[key]; ok {
		return id, nil
	}
	if row.Category == "" {
		return "", qm.Errorf(qm.EInvalid, "model %q is new, and making it needs a Category", row.Model)
	}
	cat, err := im.named("categories", row.Category)
	if err != nil {
		return "", err
	}
	maker, err := im.named("manufacturers", row.Manufacturer)
	if err != nil {
		return "", err
	}
	now := sqlstore.Timestamp(im.s.now())
	m := &qm.Model{ID: sqlstore.NewID(), Name: row.Model, ModelNumber: row.ModelNumber, CategoryID: cat, ManufacturerID: maker, Notes: row.ModelNotes, CreatedAt: now, UpdatedAt: now}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return "", err
	}
	if err := insertModel(im.ctx, im.c, m); err != nil {
		return "", fmt.Errorf("make model %q: %w", row.Model, err)
	}
	im.models[key] = m.ID
	im.rep.Made["models"]++
	return m.ID, nil
}

// row checks one row on its own and adds it to the batch, with its
// problems if it has any, writing the batch when full.
func (im *importer) row(row *qm.ImportRow) error {
	p := pending{line: row.Line, problems: append([]string{}, row.Errors...)}
	a := &p.asset
	*a = row.Asset
	fail := func(msg string) { p.problems = append(p.problems, msg) }
	if a.Tag != "" {
		if use, seen := im.tags[strings.ToLower(a.Tag)]; seen && use.given {
			fail(fmt.Sprintf("Asset Tag %q was given by this import to the asset of line %d", a.Tag, use.line))
		} else if seen {
			fail(fmt.Sprintf("Asset Tag %q appears twice in the file", a.Tag))
		}
		im.tags[strings.ToLower(a.Tag)] = tagUse{line: row.Line}
	}
	a.Normalize()
	p.given = im.customValues(row, fail)
	if len(p.problems) == 0 {
		if err := im.holder(row, &p, fail); err != nil {
			return err
		}
	}
	if len(p.problems) == 0 {
		var err error
		if a.ModelID, err = im.model(row); err != nil {
			if qm.ErrorCode(err) != qm.EInvalid {
				return err
			}
			fail(qm.ErrorMessage(err))
		}
	}
	if len(p.problems) == 0 {
		for _, ref := range []struct {
			table, name string
			dst         *string
		}{{"locations", row.Location, &a.LocationID}, {"suppliers", row.Supplier, &a.SupplierID}, {"status_labels", row.Status, &a.StatusID}} {
			id, err := im.named(ref.table, ref.name)
			if qm.ErrorCode(err) == qm.ELimitReached {
				fail(im.refusedBy(err))
				break
			} else if err != nil {
				return err
			}
			*ref.dst = id
		}
		if im.opts.CompanyAsDepartment {
			id, err := im.named("departments", row.Department)
			if err != nil {
				return err
			}
			a.DepartmentID = id
		}
		if err := a.Validate(); err != nil {
			var e *qm.Error
			errors.As(err, &e)
			for f, m := range e.Fields {
				fail(f + ": " + m)
			}
		}
	}
	im.batch = append(im.batch, p)
	if len(im.batch) == importBatch {
		return im.flush()
	}
	return nil
}

// flush writes the batch: it finds the assets with the tags its rows give,
// checks each row against them, numbers the new assets without a tag, and
// writes the good rows' assets and their audit entries, a statement for
// each kind of write. Problems are reported in the order of the file.
func (im *importer) flush() error {
	var tags []string
	for _, p := range im.batch {
		if len(p.problems) == 0 && p.asset.Tag != "" {
			tags = append(tags, p.asset.Tag)
		}
	}
	found, err := im.find(tags)
	if err != nil {
		return err
	}
	if err := readFieldValues(im.ctx, im.c, slices.Collect(maps.Values(found))...); err != nil {
		return err
	}
	var untagged []*qm.Asset
	for i := range im.batch {
		p := &im.batch[i]
		if len(p.problems) == 0 {
			p.before = found[p.asset.Tag]
			if p.before != nil && !p.before.UpdatedAt.Before(im.started) {
				p.problems = append(p.problems, fmt.Sprintf("Asset Tag %q is on an earlier line of the file, or was given by this import to one", p.asset.Tag))
			} else if err := im.check(&p.asset, p.before); err != nil {
				p.problems = append(p.problems, qm.ErrorMessage(err))
			}
		}
		if len(p.problems) == 0 {
			if err := im.fieldsAndHolder(p, p.before); err != nil {
				if qm.ErrorCode(err) != qm.EInvalid {
					return err
				}
				p.problems = append(p.problems, qm.ErrorMessage(err))
			}
		}
		if len(p.problems) == 0 && p.before == nil {
			if err := im.roomForAsset(); err != nil {
				p.problems = append(p.problems, im.refusedBy(err))
			}
		}
		if len(p.problems) > 0 {
			im.rep.Failed++
			if len(im.rep.Problems) < maxProblems {
				im.rep.Problems = append(im.rep.Problems, qm.ImportProblem{Line: p.line, Tag: p.asset.Tag, Errors: p.problems})
			}
			continue
		}
		if p.before == nil {
			im.creation(&p.asset)
			if p.asset.Tag == "" {
				untagged = append(untagged, &p.asset)
				p.untagged = true
			}
		}
	}
	if err := im.autoTag(untagged); err != nil {
		return err
	}
	for i := range im.batch {
		p := &im.batch[i]
		if len(p.problems) > 0 {
			continue
		}
		if p.untagged {
			im.tags[strings.ToLower(p.asset.Tag)] = tagUse{line: p.line, given: true}
		}
		im.known.add(p.asset.Tag)
		p.after = &p.asset
		if p.before == nil {
			im.rep.Created++
			im.record(p.line, p.after.Tag, "create")
		} else {
			p.after = merge(p.before, p.after, sqlstore.Timestamp(im.s.now()))
			im.rep.Updated++
			im.record(p.line, p.after.Tag, "update")
		}
		im.invitees.add(p)
		// The asset as written, custom fields and all, before its audit
		// entry is made.
		p.change.values(p.after)
	}
	err = im.write(im.batch)
	im.batch = im.batch[:0]
	clear(im.tags)
	clear(im.unique)
	return err
}

// write writes the assets of a batch's good rows, and their audit entries,
// which another goroutine makes while the assets are written: on SQLite the
// writing takes one core and the making the other; on PostgreSQL the making
// takes no time of the statement's.
func (im *importer) write(batch []pending) error {
	type made struct {
		entries [][]any
		err     error
	}
	audit := make(chan made, 1)
	go func() {
		var m made
		for _, p := range batch {
			if len(p.problems) > 0 {
				continue
			}
			var entry []any
			if entry, m.err = sqlstore.AuditEntry(im.ctx, p.after.UpdatedAt, "asset.import", "asset", p.after.ID, p.before, p.after); m.err != nil {
				break
			}
			m.entries = append(m.entries, entry)
		}
		audit <- m
	}()
	var created, updated [][]any
	changed := map[string]bool{"updated_at": true}
	for _, p := range batch {
		switch {
		case len(p.problems) > 0:
		case p.before == nil:
			created = append(created, assetValues(p.after))
		default:
			after := assetValues(p.after)
			for i, was := range assetValues(p.before) {
				if !sameValue(was, after[i]) {
					changed[assetWritten[i]] = true
				}
			}
			updated = append(updated, after)
		}
	}
	// The updates are inserts that find their id taken: one statement for
	// the batch, led by its rows, so each costs a look up by id whatever the
	// engine thinks of the table's size. They set only the columns some row
	// of the batch changes: SQLite rewrites the index entries of every
	// column an update sets, changed or not.
	err := im.insert("assets", assetWritten, created, "")
	if err == nil {
		err = im.insert("assets", assetWritten, updated, upsert(changed))
	}
	for _, p := range batch {
		if err == nil && len(p.problems) == 0 {
			if err = im.finish(p.after, p.change); err != nil {
				err = fmt.Errorf("line %d: %w", p.line, err)
			}
		}
	}
	m := <-audit
	if err = cmp.Or(err, m.err); err != nil {
		return err
	}
	return im.insert("audit_log", sqlstore.AuditColumnList, m.entries, "")
}

// seen reports whether a row of the batch has tag, written there or given
// by this import.
func (im *importer) seen(tag string) bool {
	_, ok := im.tags[strings.ToLower(tag)]
	return ok
}

// find returns the tenant's assets with tags, by tag; earlier batches'
// assets are among them, as this import wrote them. It asks only of the
// tags known may hold, which the tenant mostly has.
func (im *importer) find(tags []string) (map[string]*qm.Asset, error) {
	var maybe []string
	for _, tag := range tags {
		if im.known.has(tag) {
			maybe = append(maybe, tag)
		}
	}
	found := map[string]*qm.Asset{}
	err := im.eachTag(`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND tag = %s`, maybe, func(r sqlstore.Row) error {
		a, err := scanAsset(r)
		if err == nil {
			found[a.Tag] = a
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find assets by tag: %w", err)
	}
	return found, nil
}

// eachTag runs query, which names a tag %s, for each of tags, and calls fn
// with each row it returns.
func (im *importer) eachTag(query string, tags []string, fn func(sqlstore.Row) error) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([][]any, len(tags))
	for i, tag := range tags {
		rows[i] = []any{tag}
	}
	return im.c.QueryRows(im.ctx, query, sqlstore.RowSet{Table: "assets", Columns: []string{"tag"}, Rows: rows}, fn, im.c.TenantID())
}

// check checks that a, with before the asset with its tag (nil for none),
// may be written: a department-confined importer keeps within its
// department, and a new asset has a status. The names the row gave are the
// tenant's own, so no other reference needs a check.
func (im *importer) check(a, before *qm.Asset) error {
	if im.scope != nil && a.DepartmentID != "" && !im.scope[a.DepartmentID] {
		return sqlstore.ErrOutsideDepartment
	}
	switch {
	case before == nil && a.StatusID == "" && im.status == "":
		return qm.Errorf(qm.EInvalid, "no Status given, and the tenant has no deployable status label to default to")
	case before != nil && im.scope != nil && !im.scope[before.DepartmentID]:
		return qm.Errorf(qm.EInvalid, "Asset Tag %q is in use outside your department", a.Tag)
	}
	return nil
}

// creation fills in what a new asset takes by default.
func (im *importer) creation(a *qm.Asset) {
	if a.StatusID == "" {
		a.StatusID = im.status
	}
	if a.DepartmentID == "" {
		a.DepartmentID = im.c.Department()
	}
	a.ID = sqlstore.NewID()
	a.CreatedAt = sqlstore.Timestamp(im.s.now())
	a.UpdatedAt = a.CreatedAt
}

// autoTag gives each of assets the tenant's next tag that is free both in
// the tenant and in the file.
func (im *importer) autoTag(assets []*qm.Asset) error {
	for range maxTagTries {
		if len(assets) == 0 {
			return im.counter.save(im.ctx, im.c)
		}
		tags := make([]string, len(assets))
		for i, a := range assets {
			for a.Tag == "" || im.seen(a.Tag) {
				var err error
				if a.Tag, err = im.counter.take(im.ctx, im.c); err != nil {
					return err
				}
			}
			tags[i] = a.Tag
		}
		taken, err := im.find(tags)
		if err != nil {
			return err
		}
		var again []*qm.Asset
		for _, a := range assets {
			if taken[a.Tag] != nil {
				a.Tag = ""
				again = append(again, a)
			}
		}
		assets = again
	}
	return errNoFreeTag
}

// merge returns before with the fields a gives, as of now.
func merge(before, a *qm.Asset, now time.Time) *qm.Asset {
	after := *before
	for dst, src := range map[*string]string{&after.Name: a.Name, &after.Serial: a.Serial, &after.LocationID: a.LocationID,
		&after.DepartmentID: a.DepartmentID, &after.SupplierID: a.SupplierID, &after.PurchaseDate: a.PurchaseDate,
		&after.Currency: a.Currency, &after.OrderNumber: a.OrderNumber, &after.Notes: a.Notes, &after.StatusID: a.StatusID} {
		if src != "" {
			*dst = src
		}
	}
	after.ModelID, after.Fields = a.ModelID, a.Fields
	if a.HolderType != "" {
		after.HolderType, after.HolderID, after.CheckedOutAt = a.HolderType, a.HolderID, a.CheckedOutAt
	}
	if a.CostCents != nil {
		after.CostCents = a.CostCents
	}
	if a.WarrantyMonths != nil {
		after.WarrantyMonths = a.WarrantyMonths
	}
	after.UpdatedAt = now
	return &after
}

// upsert turns an insert of an asset whose id is taken into an update of
// the columns changed.
func upsert(changed map[string]bool) string {
	var set []string
	for _, col := range assetWritten {
		if changed[col] {
			set = append(set, col+" = excluded."+col)
		}
	}
	return `ON CONFLICT (tenant_id, id) DO UPDATE SET ` + strings.Join(set, ", ")
}

// sameValue reports whether two values of assetValues are the same.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case *int64:
		b := b.(*int64)
		return a == nil && b == nil || a != nil && b != nil && *a == *b
	case *int:
		b := b.(*int)
		return a == nil && b == nil || a != nil && b != nil && *a == *b
	case time.Time:
		return a.Equal(b.(time.Time))
	}
	return a == b
}

// insert adds rows, rows of the columns of table, with conflict as the
// ON CONFLICT clause.
func (im *importer) insert(table string, columns []string, rows [][]any, conflict string) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := im.c.InsertRows(im.ctx, sqlstore.RowSet{Table: table, Columns: columns, Rows: rows}, conflict)
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		// Only another writer can have taken a tag this import found free.
		return qm.Errorf(qm.EConflict, "an asset with a tag of this file was made while it was imported: import it again")
	} else if err != nil {
		return fmt.Errorf("import assets: %w", err)
	}
	return nil
}
