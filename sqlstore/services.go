package sqlstore

import (
	"time"

	"github.com/quartermaster/qm"
)

// Engine is an opened storage engine (package sqlite or postgres): the
// router to every tenant's data, and the catalog's services.
type Engine interface {
	BatchRouter
	Tenants() *TenantService
	Identity() *Identity
	Devices() *DeviceStore
}

// ServiceOptions are what the services need beyond storage.
type ServiceOptions struct {
	// HashPassword hashes the password of a person who accepts an
	// invitation as a new account.
	HashPassword func(string) (string, error)
	// PublicURL is where people reach the server, for invitation links.
	PublicURL string
	// Points is where the device protocols hand telemetry.
	Points qm.PointIngester
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Services returns the domain's services on e.
func Services(e Engine, o ServiceOptions) qm.Services {
	if o.Now == nil {
		o.Now = time.Now
	}
	id := e.Identity()
	invitations := NewInvitationStore(id, e, e.Tenants(), o.HashPassword, o.PublicURL, o.Now)
	members := NewMemberStore(id, e, o.Now)
	fleet := NewFleetStore(e, e.Devices(), o.Now)
	refs := map[string]qm.ReferenceService{}
	for _, list := range qm.ReferenceLists {
		refs[list.Name] = NewReferenceStore(list, e, o.Now)
	}
	return qm.Services{
		Tenants:       e.Tenants(),
		Plans:         NewPlanStore(e.Tenants()),
		Accounts:      id,
		Devices:       e.Devices(),
		Locations:     NewLocationStore(e, o.Now),
		Departments:   NewDepartmentStore(e, o.Now),
		Tokens:        NewTokenStore(id, e, o.Now),
		Members:       members,
		Directory:     members,
		Invitations:   invitations,
		Roles:         NewRoleStore(id, e, o.Now),
		Models:        NewModelStore(e, o.Now),
		References:    refs,
		Assets:        NewAssetStore(e, id, o.Now).WithInvitations(invitations),
		ImportJobs:    NewImportJobStore(e, e.Tenants(), o.Now),
		Licenses:      NewLicenseStore(e, id, o.Now),
		Maintenances:  NewMaintenanceStore(e, o.Now),
		Depreciations: NewDepreciationStore(e, o.Now),
		Fields:        NewFieldStore(e, o.Now),
		Fleet:         fleet,
		Geofences:     NewGeofenceStore(e, o.Now),
		Rules:         NewRuleStore(e, fleet, o.Now),
		Alarms:        NewAlarmStore(e, o.Now),
		Audit:         NewAuditStore(e),
		Usage:         NewUsageStore(e.Tenants()),
		Points:        o.Points,
	}
}
