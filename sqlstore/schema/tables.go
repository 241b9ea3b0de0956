package schema

import (
	"cmp"
	"slices"
	"strings"
)

// TenantTables are the tables of a tenant's data plane, the same in every
// tier on both engines (tenant_id first in every key), in an order where
// each comes after every table it references: copy a tenant in this order,
// delete it in reverse. Rows of a table referencing itself (locations,
// departments) go parents first by their own column. The asset search
// index is not here: each engine keeps its own as assets are written
// (SQLite by triggers, PostgreSQL in its connection: postgres/search.go),
// so it follows the assets (DerivedTables names it). The conformance
// suite holds this list to the tables the migrations make.
var TenantTables = []string{
	"audit_log",
	"locations",
	"departments",
	"categories",
	"manufacturers",
	"suppliers",
	"status_labels",
	"depreciations",
	"depreciation_categories",
	"custom_fields",
	"field_sets",
	"field_set_fields",
	"field_set_categories",
	"models",
	"assets",
	"asset_tag_counters",
	"asset_field_values",
	"licenses",
	"license_seats",
	"maintenances",
	"import_jobs",
	"fleet_settings",
	"fleet_devices",
	"points",
	"device_state",
	"limit_locks",
	"tenant_settings",
	"geofences",
	"rules",
	"rule_states",
	"rule_cursors",
	"rule_versions",
	"alarms",
	"alarm_events",
	"notification_reads",
	"channels",
	"rule_channels",
	"outbox",
	"deliveries",
}

// DerivedTables are the tables with a tenant_id an engine keeps from
// TenantTables by itself, by engine.
var DerivedTables = map[string][]string{
	"postgres": {"asset_search"},
	"sqlite":   {"asset_search_rows"},
}

// PurgeOrder orders the tables of a store that have a tenant_id for
// deleting a tenant's rows: those of TenantTables in reverse, then the
// rest (what the engine derives, and anything newer than this list) by
// name.
func PurgeOrder(tables []string) []string {
	rank := map[string]int{}
	for i, name := range TenantTables {
		rank[name] = len(TenantTables) - i
	}
	out := slices.Clone(tables)
	slices.SortFunc(out, func(a, b string) int {
		ra, rb := rank[a], rank[b]
		if ra == 0 {
			ra = len(TenantTables) + 1
		}
		if rb == 0 {
			rb = len(TenantTables) + 1
		}
		return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a, b))
	})
	return out
}
