// Package engines holds what the SQL engines (packages sqlite and
// postgres) have in common above the router: the Options they take, the
// Engine they open, and the domain's Services built on one. It sits at the
// top of sqlstore's packages, the one that imports them all (catalog,
// dataplane, telemetry), so that none of them needs to know the others'
// stores.
package engines

import (
	"context"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/webhook"
)

// Engine is an opened storage engine (package sqlite or postgres): the
// router to every tenant's data, and the catalog's services.
type Engine interface {
	sqlstore.BatchRouter
	Tenants() *catalog.TenantService
	Identity() *catalog.Identity
	Devices() *catalog.DeviceStore
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
	// ChannelTests sends the channels' test notifications (the
	// alerting.Dispatcher).
	ChannelTests qm.ChannelTester
	// Mail, when set, e-mails invitations' links, from MailFrom.
	Mail     *mail.Sender
	MailFrom string
	// WebhookAllowPrivate lets tenants' webhooks reach loopback, private,
	// link-local and metadata addresses (--webhook-allow-private).
	WebhookAllowPrivate bool
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Services returns the domain's services on e.
func Services(e Engine, o ServiceOptions) qm.Services {
	if o.Now == nil {
		o.Now = time.Now
	}
	id := e.Identity()
	var invitations qm.InvitationService = dataplane.NewInvitationStore(id, e, e.Tenants(), o.HashPassword, o.PublicURL, o.Now)
	if o.Mail != nil {
		invitations = &mail.Invitations{InvitationService: invitations, Sender: o.Mail, From: o.MailFrom}
	}
	members := dataplane.NewMemberStore(id, e, o.Now)
	fleet := telemetry.NewFleetStore(e, e.Devices(), o.Now)
	refs := map[string]qm.ReferenceService{}
	for _, list := range qm.ReferenceLists {
		refs[list.Name] = dataplane.NewReferenceStore(list, e, o.Now)
	}
	return qm.Services{
		Tenants:       e.Tenants(),
		Plans:         catalog.NewPlanStore(e.Tenants()),
		Accounts:      id,
		Devices:       e.Devices(),
		Locations:     dataplane.NewLocationStore(e, o.Now),
		Departments:   dataplane.NewDepartmentStore(e, o.Now),
		Tokens:        dataplane.NewTokenStore(id, e, o.Now),
		Members:       members,
		Directory:     members,
		Invitations:   invitations,
		Roles:         dataplane.NewRoleStore(id, e, o.Now),
		Models:        dataplane.NewModelStore(e, o.Now),
		References:    refs,
		Assets:        dataplane.NewAssetStore(e, id, o.Now).WithInvitations(invitations),
		ImportJobs:    dataplane.NewImportJobStore(e, e.Tenants(), o.Now),
		Licenses:      dataplane.NewLicenseStore(e, id, o.Now),
		Maintenances:  dataplane.NewMaintenanceStore(e, o.Now),
		Depreciations: dataplane.NewDepreciationStore(e, o.Now),
		Fields:        dataplane.NewFieldStore(e, o.Now),
		Fleet:         fleet,
		Geofences:     alerts.NewGeofenceStore(e, o.Now),
		Rules:         alerts.NewRuleStore(e, fleet, o.Now),
		Alarms:        alerts.NewAlarmStore(e, o.Now),
		Settings:      dataplane.NewSettingsStore(e, o.Now),
		Channels:      alerts.NewChannelStore(e, func(ctx context.Context, u string) error { return webhook.CheckTarget(ctx, u, o.WebhookAllowPrivate) }, o.Now),
		Audit:         dataplane.NewAuditStore(e),
		Usage:         catalog.NewUsageStore(e.Tenants()),
		Points:        o.Points,
		ChannelTests:  o.ChannelTests,
	}
}
