package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// Kind is how a column's values are written in an archive, whatever type
// the engine keeps them as.
type Kind string

// The kinds of column. Each has one form in an archive, so that a table
// exported from either engine gives the same bytes.
const (
	// KindText is text, ids included: a JSON string.
	KindText Kind = "text"
	// KindTime is a timestamp: RFC 3339 in UTC to the microsecond.
	KindTime Kind = "time"
	// KindDate is a calendar date: YYYY-MM-DD.
	KindDate Kind = "date"
	// KindInt is an integer: a JSON number.
	KindInt Kind = "int"
	// KindFloat is a double: a JSON number.
	KindFloat Kind = "float"
	// KindBool is a boolean: true or false.
	KindBool Kind = "bool"
	// KindJSON is a JSON column the engine may store parsed (PostgreSQL's
	// jsonb): the value itself, keys sorted, without spaces.
	KindJSON Kind = "json"
)

// Column is one column of a table, as an archive carries it.
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// table is what the export and the import know of a tenant table: its
// columns but tenant_id and those the engine computes (assets.warranty_end),
// its primary key but tenant_id, in order, and the column that names a
// parent row of the same table, if any.
type table struct {
	name    string
	columns []Column
	key     []string
	parent  string
}

// tables describes every table of schema.TenantTables. Export checks it
// against the columns the engine has, so a migration that adds a column
// fails the export (and the conformance suite) until it is described here,
// rather than silently leaving the column out of archives.
var tables = map[string]table{}

// describe adds a table: columns as "name:kind" (text when no kind is
// given), the key's columns, and the parent column.
func describe(name string, key []string, parent string, columns string) {
	t := table{name: name, key: key, parent: parent}
	for _, f := range strings.Fields(columns) {
		col, kind, ok := strings.Cut(f, ":")
		if !ok {
			kind = string(KindText)
		}
		t.columns = append(t.columns, Column{Name: col, Kind: Kind(kind)})
	}
	tables[name] = t
}

var (
	byID    = []string{"id"}
	reflist = "id name kind notes created_at:time updated_at:time"
)

func init() {
	describe("audit_log", byID, "", "id at:time actor_kind actor_id actor_name action resource_type resource_id changes:json remote_addr request_id")
	describe("locations", byID, "parent_id", "id name parent_id address notes created_at:time updated_at:time")
	describe("departments", byID, "parent_id", "id name parent_id created_at:time updated_at:time")
	describe("categories", byID, "", reflist)
	describe("manufacturers", byID, "", reflist)
	describe("suppliers", byID, "", reflist)
	describe("status_labels", byID, "", reflist)
	describe("depreciations", byID, "", "id name months:int created_at:time updated_at:time")
	describe("depreciation_categories", []string{"category_id"}, "", "category_id depreciation_id")
	describe("custom_fields", byID, "", "id key name type required:bool is_unique:bool pattern choices help_text created_at:time updated_at:time")
	describe("field_sets", byID, "", "id name created_at:time updated_at:time")
	describe("field_set_fields", []string{"field_set_id", "field_id"}, "", "field_set_id field_id position:int")
	describe("field_set_categories", []string{"field_set_id", "category_id"}, "", "field_set_id category_id")
	describe("models", byID, "", "id name model_number category_id manufacturer_id notes created_at:time updated_at:time depreciation_id field_set_id")
	describe("assets", byID, "", `id tag name serial model_id status_id location_id department_id supplier_id purchase_date:date
		cost_cents:int currency order_number warranty_months:int notes created_at:time updated_at:time
		holder_type holder_id checked_out_at:time expected_return:date`)
	describe("asset_tag_counters", nil, "", "prefix next:int")
	describe("asset_field_values", []string{"asset_id", "field_id"}, "", "asset_id field_id value unique_value")
	describe("licenses", byID, "", "id name product_key manufacturer_id seats:int expires_on:date notes created_at:time updated_at:time")
	describe("license_seats", byID, "", "id license_id assignee_type assignee_id assigned_at:time")
	describe("maintenances", byID, "", `id asset_id kind title started_on:date completed_on:date cost_cents:int supplier_id notes
		created_at:time updated_at:time`)
	describe("import_jobs", byID, "", `id status file_name options bytes:int rows_read:int report error node created_by
		started_at:time finished_at:time`)
	describe("fleet_settings", nil, "", "retention_days:int offline_minutes:int low_battery_pct:float")
	describe("fleet_devices", []string{"device_id"}, "", "device_id name asset_id department_id settings created_at:time updated_at:time")
	describe("points", []string{"device_id", "t_us"}, "", `device_id t_us:int lat:float lon:float altitude_m:float speed_kmh:float
		heading:float accuracy_m:float metrics received_us:int`)
	describe("device_state", []string{"device_id"}, "", `device_id last_seen_us:int t_us:int pos_t_us:int lat:float lon:float
		altitude_m:float speed_kmh:float heading:float accuracy_m:float metrics points:int`)
	describe("limit_locks", []string{"name"}, "", "name")
	describe("tenant_settings", nil, "", "time_zone")
	describe("geofences", byID, "", "id name shape created_at:time updated_at:time")
	describe("rules", byID, "", "id name kind severity enabled:bool department_id geofence_id spec created_at:time updated_at:time")
	describe("rule_states", []string{"rule_id", "subject_id"}, "", "rule_id subject_id state")
	describe("rule_cursors", []string{"device_id"}, "", "device_id t_us:int")
	describe("rule_versions", nil, "", "version:int")
	describe("alarms", byID, "", `id rule_id rule_name severity department_id subject_type subject_id first_at:time last_at:time
		repeats:int acknowledged_by acknowledged_at:time cleared_at:time`)
	describe("alarm_events", byID, "", "id alarm_id kind at:time by_name")
	describe("notification_reads", []string{"user_id"}, "", "user_id last_event_id")
	describe("channels", byID, "", `id name kind enabled:bool url emails secret failing_since:time disabled_reason
		created_at:time updated_at:time`)
	describe("rule_channels", []string{"rule_id", "channel_id"}, "", "rule_id channel_id")
	describe("outbox", []string{"event_id", "channel_id"}, "", `event_id channel_id attempts:int due_at:time created_at:time
		delivered_at:time given_up_at:time`)
	describe("deliveries", byID, "", "id channel_id event_id at:time status:int latency_us:int error test:bool")
	for _, name := range schema.TenantTables {
		if _, ok := tables[name]; !ok {
			panic(fmt.Sprintf("lifecycle: table %s of schema.TenantTables is not described", name))
		}
	}
}

// growing are the tables a tenant served only adds rows to, none changed
// or deleted (the points, whose retention pauses while the tenant moves,
// and the audit log), each with the column that says when a row was
// written and how to bind a time to compare with it: the time a point
// was received, and the time in an entry's id (the time the entry names
// is the store's clock, which a test may set anywhere). A move copies them
// while the tenant is served, and in its pause only the rows written
// since (Move).
var growing = map[string]struct {
	column string
	bind   func(time.Time) any
}{
	"points":    {"received_us", func(t time.Time) any { return sqlstore.Micros(t) }},
	"audit_log": {"id", func(t time.Time) any { return sqlstore.FirstID(t) }},
}

// textKeys are the key columns that hold text rather than ids, which
// PostgreSQL must order byte by byte (COLLATE "C") to order them as SQLite
// does: the same order on both engines gives the same bytes.
var textKeys = map[string]bool{"limit_locks.name": true}

// selectSQL reads every row of t's tenant (the connection's, $1) in the
// order of its key; or, given a column since, those whose since is at or
// after $2.
func (t table) selectSQL(engine qm.Engine, since string) string {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = c.Name
		if c.Kind == KindDate {
			// PostgreSQL's date reads as a time; as text it is YYYY-MM-DD
			// on both engines.
			cols[i] = "CAST(" + c.Name + " AS TEXT)"
		}
	}
	order := make([]string, len(t.key))
	for i, k := range t.key {
		order[i] = k
		if engine == qm.EnginePostgres && textKeys[t.name+"."+k] {
			order[i] += ` COLLATE "C"`
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.name + " WHERE tenant_id = $1"
	if since != "" {
		q += " AND " + since + " >= $2"
	}
	if len(order) > 0 {
		q += " ORDER BY " + strings.Join(order, ", ")
	}
	return q
}

// columnsSQL lists the columns of a table, but tenant_id and those the
// engine computes, as the engine has them: the check that tables
// describes every one.
func columnsSQL(engine qm.Engine) string {
	if engine == qm.EnginePostgres {
		// The connection's search path starts with the tenant's schema.
		return `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0
			AND NOT attisdropped AND attgenerated = '' AND attname <> 'tenant_id'`
	}
	return `SELECT name FROM pragma_table_xinfo($1) WHERE hidden = 0 AND name <> 'tenant_id'`
}
