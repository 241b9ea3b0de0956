package qm

import (
	"context"
	"time"
)

// Services are the domain's services as the edges call them: the HTTP
// API, the importer, the command line, the broker and the device
// protocols. Each holds the rules of its domain, whatever stores the data;
// cmd/quartermaster makes them from a storage engine.
type Services struct {
	Tenants       TenantService
	Plans         PlanService
	Accounts      AccountDirectory
	Devices       DeviceInventory
	Locations     LocationService
	Departments   DepartmentService
	Tokens        TokenService
	Members       MemberService
	Directory     MemberDirectory
	Invitations   InvitationService
	Roles         RoleService
	Models        ModelService
	References    map[string]ReferenceService // by ReferenceList.Name
	Assets        AssetService
	ImportJobs    ImportJobService
	Licenses      LicenseService
	Maintenances  MaintenanceService
	Depreciations DepreciationService
	Fields        FieldService
	Fleet         FleetService
	Geofences     GeofenceService
	Rules         RuleService
	Alarms        AlarmService
	Channels      ChannelService
	ChannelTests  ChannelTester
	Settings      SettingsService
	Audit         AuditService
	Usage         UsageService
	Points        PointIngester
}

// AccountDirectory tells a signed-in person where they belong.
type AccountDirectory interface {
	// TenantsOf lists the tenants user userID is a member of, with the
	// role held in each.
	TenantsOf(ctx context.Context, userID string) ([]TenantMembership, error)
	// PendingInvitations lists the open invitations to email at now.
	PendingInvitations(ctx context.Context, email string, now time.Time) ([]PendingInvitation, error)
}

// ImportJobService records imports that run in the background, so any
// node can say how one is going or how it ended.
type ImportJobService interface {
	// StartImportJob records j as running, giving it an id.
	StartImportJob(ctx context.Context, j *ImportJob) error
	// ReportProgress records how far running job j has read (BytesRead,
	// RowsRead), for ImportJob and ImportJobs to tell on any node.
	ReportProgress(ctx context.Context, j *ImportJob) error
	// FinishImportJob records how j ended.
	FinishImportJob(ctx context.Context, j *ImportJob) error
	// ImportJob returns one job of the tenant. ENotFound.
	ImportJob(ctx context.Context, id string) (*ImportJob, error)
	// ImportJobs lists the tenant's jobs, newest first.
	ImportJobs(ctx context.Context) ([]*ImportJob, error)
}

// FleetService is the tenant's view of the devices it holds and what they
// report. A member confined to a department sees only the devices of its
// subtree; others are ENotFound to it.
type FleetService interface {
	// Settings returns the tenant's fleet settings.
	Settings(ctx context.Context) (*FleetSettings, error)
	// SetSettings changes them. EInvalid.
	SetSettings(ctx context.Context, fs FleetSettings) (*FleetSettings, error)
	// Devices lists the devices the tenant holds or held, with their health.
	Devices(ctx context.Context) ([]*FleetDevice, error)
	// Device returns one by id or ident. ENotFound.
	Device(ctx context.Context, idOrIdent string) (*FleetDevice, error)
	// UpdateDevice changes the tenant's details of a device. ENotFound,
	// EInvalid.
	UpdateDevice(ctx context.Context, idOrIdent string, u FleetDeviceUpdate) (*FleetDevice, error)
	// Latest returns the device's latest values. ENotFound.
	Latest(ctx context.Context, idOrIdent string) (*DeviceState, error)
	// Points returns a page of the device's points. ENotFound, EBadRequest.
	Points(ctx context.Context, idOrIdent string, f PointFilter) (*PointPage, error)
	// Summary counts the tenant's devices by health.
	Summary(ctx context.Context) (*FleetSummary, error)
	// Trips returns the device's trips between from and to. ENotFound.
	Trips(ctx context.Context, idOrIdent string, from, to time.Time) ([]Trip, error)
	// Aggregate returns a metric of the device in buckets of width
	// between from and to. ENotFound, EBadRequest.
	Aggregate(ctx context.Context, idOrIdent, metric string, from, to time.Time, width time.Duration) ([]Bucket, error)
}
