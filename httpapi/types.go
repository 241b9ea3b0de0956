package httpapi

import (
	"encoding/json"
	"time"

	"github.com/quartermaster/qm"
)

// The request and response bodies of the API. The route table names them,
// and the OpenAPI description is made from them, so it cannot drift from
// what the handlers read and write.

type statusReply struct {
	Status string `json:"status"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type passwordRequest struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// session is what sign-in and password change tell a signed-in user.
type session struct {
	User      *qm.User `json:"user"`
	CSRFToken string   `json:"csrf_token"`
}

// meReply says who the caller is: a signed-in user (with the CSRF token its
// changes need), or an API token (with the tenant it is bound to).
type meReply struct {
	User      *qm.User       `json:"user,omitempty"`
	CSRFToken string         `json:"csrf_token,omitempty"`
	Principal *qm.Principal  `json:"principal,omitempty"`
	Tenant    *ownTenantView `json:"tenant,omitempty"`
	// For a user: the tenants the user belongs to, and the invitations to
	// the user's email waiting to be accepted, so a client knows where the
	// user can go.
	Tenants     []qm.TenantMembership  `json:"tenants,omitempty"`
	Invitations []qm.PendingInvitation `json:"invitations,omitempty"`
}

// ownTenantView is what a tenant's own members see of it: not where it lives.
type ownTenantView struct {
	ID            string         `json:"id"`
	Slug          string         `json:"slug"`
	Name          string         `json:"name"`
	Tier          qm.Tier        `json:"tier"`
	State         qm.TenantState `json:"state"`
	SchemaVersion int            `json:"schema_version"`
	CreatedAt     time.Time      `json:"created_at"`
}

// tenantHome is a tenant as its member sees it, with what the member is
// there (role, permissions, department scope) and what its plan allows, so
// a client shows only what the member may do.
type tenantHome struct {
	ownTenantView
	Principal *qm.Principal `json:"principal"`
	// Limits are what the tenant's plan allows, so a client hides the
	// features it leaves out.
	Limits qm.Effective `json:"limits"`
}

type tenantRequest struct {
	Slug   string  `json:"slug"`
	Name   string  `json:"name"`
	Tier   qm.Tier `json:"tier"`
	Server string  `json:"server"`
}

// tenantList is the operator's page of tenants, each with its activity,
// and the newest schema version this build knows, to tell which tenants
// are behind.
type tenantList struct {
	Tenants []operatorTenant `json:"tenants"`
	pageInfo
	LatestSchemaVersion int `json:"latest_schema_version"`
}

// operatorTenant is a tenant as the operator's list shows it.
type operatorTenant struct {
	*qm.Tenant
	qm.TenantActivity
	qm.TenantUse
	Caps   []qm.CapUse     `json:"caps"`
	Health qm.TenantHealth `json:"health"`
}

// operatorTenantDetail is one tenant as the operator's page shows it, with
// the newest schema version this build knows.
type operatorTenantDetail struct {
	operatorTenant
	LatestSchemaVersion int `json:"latest_schema_version"`
}

type breakGlassRequest struct {
	Reason string `json:"reason"`
}

type breakGlassReply struct {
	Tenant    string    `json:"tenant"`
	Role      qm.Role   `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

type locationRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	Address  string `json:"address"`
	Notes    string `json:"notes"`
}

type locationList struct {
	Locations []*qm.Location `json:"locations"`
	pageInfo
}

type tokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	ExpiresAt *time.Time `json:"expires_at"`
}

type tokenList struct {
	Tokens []*qm.APIToken `json:"tokens"`
	pageInfo
}

// newToken is a created token with its secret, shown this once.
type newToken struct {
	Token  *qm.APIToken `json:"token"`
	Secret string       `json:"secret"`
}

// invitationRequest invites a person, named by email, to the tenant.
type invitationRequest struct {
	Email        string `json:"email"`
	Role         string `json:"role"`
	DepartmentID string `json:"department_id"`
	// CheckOut lists assets to check out to the person on acceptance.
	CheckOut []string `json:"check_out"`
}

// invitationBody is invitationRequest as read: a password is read only to
// be refused by name, since an invitation never sets one.
type invitationBody struct {
	invitationRequest
	Password *json.RawMessage `json:"password"`
}

type invitationList struct {
	Invitations []*qm.Invitation `json:"invitations"`
	pageInfo
}

// acceptRequest accepts an invitation. Name and password create the
// account when none has the invitation's email; otherwise the caller signs
// in first and sends neither.
type acceptRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// acceptReply says what accepting did, and where the user now is. A new
// account is signed in: the reply carries its session's CSRF token.
type acceptReply struct {
	User   *qm.User            `json:"user"`
	Tenant qm.TenantMembership `json:"tenant"`
	// AlreadyMember says the account was a member before; its membership
	// is left as it was.
	AlreadyMember bool `json:"already_member"`
	// CheckedOut lists the assets the invitation checked out to the user.
	CheckedOut []string `json:"checked_out,omitempty"`
	CSRFToken  string   `json:"csrf_token,omitempty"`
}

// resetRequest sets a password with the secret of an operator's reset link.
type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

type memberList struct {
	Members []*qm.Member `json:"members"`
	pageInfo
}

// personList is the tenant's member directory: no roles or departments,
// which are for those who manage people (memberList).
type personList struct {
	People []*qm.Person `json:"people"`
	pageInfo
}

type departmentRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
}

type departmentList struct {
	Departments []*qm.Department `json:"departments"`
	pageInfo
}

type roleRequest struct {
	Name        string          `json:"name"`
	Permissions []qm.Permission `json:"permissions"`
}

type roleList struct {
	Roles []qm.Role `json:"roles"`
	pageInfo
}

// auditPage is a page of the audit log, newest first.
type auditPage struct {
	Entries []*qm.AuditEntry `json:"entries"`
	pageInfo
}

type referenceRequest struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Notes string `json:"notes"`
}

type referenceList struct {
	Items []*qm.Reference `json:"items"`
	pageInfo
}

type modelRequest struct {
	Name           string `json:"name"`
	ModelNumber    string `json:"model_number"`
	CategoryID     string `json:"category_id"`
	ManufacturerID string `json:"manufacturer_id"`
	DepreciationID string `json:"depreciation_id"`
	FieldSetID     string `json:"field_set_id"`
	Notes          string `json:"notes"`
}

type modelList struct {
	Models []*qm.Model `json:"models"`
	pageInfo
}

type assetRequest struct {
	Tag            string `json:"tag"`
	Name           string `json:"name"`
	Serial         string `json:"serial"`
	ModelID        string `json:"model_id"`
	StatusID       string `json:"status_id"`
	LocationID     string `json:"location_id"`
	DepartmentID   string `json:"department_id"`
	SupplierID     string `json:"supplier_id"`
	PurchaseDate   string `json:"purchase_date"`
	CostCents      *int64 `json:"cost_cents"`
	Currency       string `json:"currency"`
	OrderNumber    string `json:"order_number"`
	WarrantyMonths *int   `json:"warranty_months"`
	Notes          string `json:"notes"`
	// Fields are custom field values by key.
	Fields map[string]any `json:"fields"`
}

// assetPage is a page of assets, as qm.AssetPage.
type assetPage struct {
	Assets []qm.Asset `json:"assets"`
	pageInfo
}

type depreciationRequest struct {
	Name        string   `json:"name"`
	Months      int      `json:"months"`
	CategoryIDs []string `json:"category_ids"`
}

type depreciationList struct {
	Depreciations []*qm.Depreciation `json:"depreciations"`
	pageInfo
}

// assetHistory is what happened to an asset, newest first.
type assetHistory struct {
	Entries []*qm.AuditEntry `json:"entries"`
	pageInfo
}

type licenseRequest struct {
	Name           string `json:"name"`
	ProductKey     string `json:"product_key"`
	ManufacturerID string `json:"manufacturer_id"`
	Seats          int    `json:"seats"`
	ExpiresOn      string `json:"expires_on"`
	Notes          string `json:"notes"`
}

// licenseView is a license with its free seats.
type licenseView struct {
	*qm.License
	FreeSeats int `json:"free_seats"`
}

type licenseList struct {
	Licenses []licenseView `json:"licenses"`
	pageInfo
}

type seatRequest struct {
	AssigneeType string `json:"assignee_type"`
	AssigneeID   string `json:"assignee_id"`
}

type seatList struct {
	Seats []*qm.Seat `json:"seats"`
	pageInfo
}

type maintenanceRequest struct {
	Kind        string `json:"kind"`
	Title       string `json:"title"`
	StartedOn   string `json:"started_on"`
	CompletedOn string `json:"completed_on"`
	CostCents   *int64 `json:"cost_cents"`
	SupplierID  string `json:"supplier_id"`
	Notes       string `json:"notes"`
}

type maintenanceList struct {
	Maintenances []*qm.Maintenance `json:"maintenances"`
	pageInfo
}

type customFieldRequest struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Unique   bool     `json:"unique"`
	Pattern  string   `json:"pattern"`
	Choices  []string `json:"choices"`
	HelpText string   `json:"help_text"`
}

type customFieldList struct {
	Fields []*qm.CustomField `json:"fields"`
	pageInfo
}

type fieldSetRequest struct {
	Name        string   `json:"name"`
	FieldIDs    []string `json:"field_ids"`
	CategoryIDs []string `json:"category_ids"`
}

type fieldSetList struct {
	FieldSets []*qm.FieldSet `json:"field_sets"`
	pageInfo
}

type importJobList struct {
	Jobs []*qm.ImportJob `json:"jobs"`
	pageInfo
}

type deviceRequest struct {
	Ident    string `json:"ident"`
	Serial   string `json:"serial"`
	Kind     string `json:"kind"`
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	Notes    string `json:"notes"`
	// IdentOnly lets the device report over OsmAnd without its key.
	IdentOnly bool `json:"ident_only"`
}

type deviceList struct {
	Devices []*qm.Device `json:"devices"`
	pageInfo
}

// deviceCredential is a device with its credential, shown once: when it is
// registered, when it moves to another tenant, when it is rotated.
type deviceCredential struct {
	*qm.Device
	Token string `json:"token,omitempty"`
}

type deviceCredentials struct {
	Devices []deviceCredential `json:"devices"`
}

type assignRequest struct {
	Tenant string `json:"tenant"`
}

type custodyList struct {
	Custody []qm.Custody `json:"custody"`
	pageInfo
}

// ingestReply says what became of a batch: points already stored (the
// same device and time) are duplicates, stored once.
type ingestReply struct {
	Received   int `json:"received"`
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
}

type deviceConfigReply struct {
	Settings map[string]any `json:"settings"`
}

type fleetDeviceList struct {
	Devices []*qm.FleetDevice `json:"devices"`
	pageInfo
}

// fleetPosition is a device's latest position, for a map, and the newest
// value of each metric it reported. It is also the data of the fleet's
// position events.
type fleetPosition struct {
	DeviceID string               `json:"device_id"`
	Ident    string               `json:"ident"`
	Name     string               `json:"name,omitempty"`
	Status   string               `json:"status"`
	Position *qm.Position         `json:"position"`
	Time     time.Time            `json:"time"`
	Metrics  map[string]qm.Metric `json:"metrics"`
}

// mapConfig tells the console which map to draw: a MapLibre style URL
// instead of its bundled outline, and a PMTiles file the server serves;
// "" for either not configured.
type mapConfig struct {
	StyleURL   string `json:"style_url"`
	PMTilesURL string `json:"pmtiles_url"`
}

type fleetPositionList struct {
	Positions []fleetPosition `json:"positions"`
	pageInfo
}

// ingestPoint is a point as devices send it: the position's fields beside
// the time. A batch is a JSON array of them, one of them, or NDJSON.
type ingestPoint struct {
	Time      time.Time            `json:"time"`
	Lat       *float64             `json:"lat,omitempty"`
	Lon       *float64             `json:"lon,omitempty"`
	AltitudeM *float64             `json:"altitude_m,omitempty"`
	SpeedKMH  *float64             `json:"speed_kmh,omitempty"`
	Heading   *float64             `json:"heading,omitempty"`
	AccuracyM *float64             `json:"accuracy_m,omitempty"`
	Metrics   map[string]qm.Metric `json:"metrics,omitempty"`
}

type tripList struct {
	Trips []qm.Trip `json:"trips"`
	pageInfo
}

type bucketList struct {
	Metric  string      `json:"metric"`
	Bucket  string      `json:"bucket"`
	Buckets []qm.Bucket `json:"buckets"`
	pageInfo
}

// pointPage is a page of a device's points, oldest first.
type pointPage struct {
	Points []qm.Point `json:"points"`
	pageInfo
}

type geofenceRequest struct {
	Name  string   `json:"name"`
	Shape qm.Shape `json:"shape"`
}

type geofenceList struct {
	Geofences []*qm.Geofence `json:"geofences"`
	pageInfo
}

type ruleList struct {
	Rules []*qm.Rule `json:"rules"`
	pageInfo
}

type alarmList struct {
	Alarms []*qm.Alarm `json:"alarms"`
	pageInfo
}

type alarmEventList struct {
	Events []*qm.AlarmEvent `json:"events"`
	pageInfo
}

type channelList struct {
	Channels []*qm.Channel `json:"channels"`
	pageInfo
}

// newChannel is a created channel with a webhook's signing secret, shown
// this once.
type newChannel struct {
	Channel *qm.Channel `json:"channel"`
	Secret  string      `json:"secret,omitempty"`
}

type deliveryList struct {
	Deliveries []*qm.DeliveryAttempt `json:"deliveries"`
	pageInfo
}

// unreadList is a page of the member's unread events, newest first, and
// how many are unread in all (total counts the newest 1,000 at most).
type unreadList struct {
	Events []*qm.AlarmEvent `json:"events"`
	Unread int              `json:"unread"`
	pageInfo
}

type markReadRequest struct {
	// EventID is the newest event read: it and every one before it are.
	EventID string `json:"event_id"`
}
