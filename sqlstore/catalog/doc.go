// Package catalog is the control plane on SQL: tenants, their placement,
// state and lifecycle (TenantService, with its cache and the leases of
// background jobs), plans and usage, accounts, memberships, sessions, API
// tokens, custom roles and invitations (Identity), and the device
// inventory (DeviceStore).
//
// The catalog lives in one database beside the tenants' data, and reads
// that data only where the operator's views and the usage meter need it
// (a tenant's activity, its fleet's health, what it used). Packages dataplane and telemetry build on it; it
// knows neither: a new tenant's data is seeded through the Seed its engine
// gives NewTenantService.
package catalog
