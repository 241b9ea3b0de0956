// Package dataplane is the stores of what a tenant owns and manages
// through its people: assets and their custom fields, models, locations,
// departments, the reference lists, licenses, maintenances,
// depreciations, check-outs, imports, the audit log (AuditStore: the
// root's Audit writes it), and the tenant-facing stores of its people
// (members, roles, API tokens, invitations).
//
// Every query runs on a sqlstore.Conn bound to the tenant and names it.
// The people stores keep their records in the catalog (package catalog's
// Identity) but belong here: an invitation can hand out assets, an import
// invites the holders it does not know, and what a tenant does to its
// people is written to its audit log.
package dataplane
