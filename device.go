package qm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// The kinds of device the inventory holds.
const (
	DeviceVehicle = "vehicle" // a telematics unit in a vehicle
	DevicePhone   = "phone"   // a tracker app on a phone (OsmAnd, Traccar Client)
	DeviceAgent   = "agent"   // an agent on a laptop or server
)

// DeviceKinds lists them.
var DeviceKinds = []string{DeviceVehicle, DevicePhone, DeviceAgent}

// Device is a unit in the operator's inventory: it has a credential, and is
// assigned to at most one tenant at a time. Its telemetry goes to the
// tenant it is assigned to when it reports.
type Device struct {
	ID string `json:"id"`
	// Ident is how the device names itself: an IMEI, or the id a tracker
	// app reports. Unique in the inventory.
	Ident    string `json:"ident"`
	Serial   string `json:"serial,omitempty"`
	Kind     string `json:"kind"`
	Model    string `json:"model,omitempty"`
	Firmware string `json:"firmware,omitempty"`
	Notes    string `json:"notes,omitempty"`
	// IdentOnly lets the device report over OsmAnd by its ident alone,
	// without its key: only for trackers that cannot send one, since
	// anyone who learns the ident can then report as the device.
	IdentOnly bool `json:"ident_only"`
	// TenantID is the tenant the device is assigned to, "" when none.
	TenantID   string     `json:"tenant_id,omitempty"`
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
	// TokenRotatedAt is when the current credential was made.
	TokenRotatedAt time.Time `json:"token_rotated_at"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Normalize trims the fields and gives a device without a kind the
// vehicle kind.
func (d *Device) Normalize() {
	for _, f := range []*string{&d.Ident, &d.Serial, &d.Kind, &d.Model, &d.Firmware, &d.Notes} {
		*f = strings.TrimSpace(*f)
	}
	if d.Kind == "" {
		d.Kind = DeviceVehicle
	}
}

// ValidIdent reports whether s can be a device identifier: 1 to 64
// letters, digits and . _ : -, so it is safe in an MQTT topic.
func ValidIdent(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r))
	})
}

// Validate checks the fields, reporting every problem at once.
func (d *Device) Validate() error {
	fields := map[string]string{}
	if !ValidIdent(d.Ident) {
		fields["ident"] = "ident is 1 to 64 letters, digits and . _ : -"
	}
	if !slices.Contains(DeviceKinds, d.Kind) {
		fields["kind"] = "kind must be one of " + strings.Join(DeviceKinds, ", ")
	}
	for name, v := range map[string]string{"serial": d.Serial, "model": d.Model, "firmware": d.Firmware} {
		if len([]rune(v)) > 100 {
			fields[name] = name + " is longer than 100 characters"
		}
	}
	if len([]rune(d.Notes)) > 2000 {
		fields["notes"] = "notes are longer than 2000 characters"
	}
	return fieldsError(fields)
}

// AsFormerHolder returns the device as a tenant that gave it up at until
// sees it: the hardware as the inventory describes it, and nothing of who
// holds it now, how it authenticates, or what the operator noted since.
func (d *Device) AsFormerHolder(until time.Time) *Device {
	rotated := d.TokenRotatedAt
	if rotated.After(until) {
		rotated = until
	}
	return &Device{ID: d.ID, Ident: d.Ident, Serial: d.Serial, Kind: d.Kind, Model: d.Model, Firmware: d.Firmware,
		TokenRotatedAt: rotated, CreatedAt: d.CreatedAt, UpdatedAt: until}
}

// DeviceUpdate holds the operator's changes to a device; nil leaves a
// field as it is.
type DeviceUpdate struct {
	Serial    *string `json:"serial"`
	Kind      *string `json:"kind"`
	Model     *string `json:"model"`
	Firmware  *string `json:"firmware"`
	Notes     *string `json:"notes"`
	IdentOnly *bool   `json:"ident_only"`
}

// Apply sets the fields u changes on d.
func (u DeviceUpdate) Apply(d *Device) {
	for _, f := range []struct {
		to   *string
		from *string
	}{{&d.Serial, u.Serial}, {&d.Kind, u.Kind}, {&d.Model, u.Model}, {&d.Firmware, u.Firmware}, {&d.Notes, u.Notes}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if u.IdentOnly != nil {
		d.IdentOnly = *u.IdentOnly
	}
}

// Custody is a time a tenant held a device.
type Custody struct {
	TenantID string     `json:"tenant_id"`
	From     time.Time  `json:"from"`
	Until    *time.Time `json:"until,omitempty"`
}

// DeviceFilter narrows a list of the inventory.
type DeviceFilter struct {
	// TenantID keeps the devices assigned to one tenant.
	TenantID string
	// Unassigned keeps the devices assigned to none.
	Unassigned bool
	// After is the ident the previous page ended with.
	After string
	// Limit: 0 means 100; more than 1000 is cut to 1000.
	Limit int
}

// DeviceInventory is the operator's inventory of devices, in the catalog.
// Only the operator (and the CLI, which acts as the operator) calls it;
// device credentials are checked by DeviceByToken and DeviceByIdent.
type DeviceInventory interface {
	// RegisterDevice stores d with a new credential and returns the
	// credential, which is never shown again. EInvalid; EConflict for a
	// taken ident.
	RegisterDevice(ctx context.Context, d *Device) (token string, err error)
	// RegisterDevices registers many devices at once, all or none, and
	// returns their credentials in order. EInvalid naming every bad one
	// ("devices[3]"); EConflict for an ident already registered.
	RegisterDevices(ctx context.Context, ds []*Device) ([]string, error)
	// Device returns a device by its id or ident. ENotFound.
	Device(ctx context.Context, idOrIdent string) (*Device, error)
	// Devices lists devices by ident.
	Devices(ctx context.Context, f DeviceFilter) ([]*Device, error)
	// CountDevices counts the devices f keeps, on every page (the cursor
	// and limit are ignored).
	CountDevices(ctx context.Context, f DeviceFilter) (int, error)
	// AssignDevice gives a device to a tenant. A device another tenant
	// holds is transferred: its credential rotates (the new one is
	// returned; "" otherwise), the points it reported stay with the
	// tenant that received them, and both tenants' audit logs record it.
	// ENotFound; EConflict when the tenant already holds it.
	AssignDevice(ctx context.Context, idOrIdent string, tenant *Tenant) (*Device, string, error)
	// UpdateDevice changes a device's description or whether it may report
	// by ident alone, and returns it. The holding tenant's audit log records
	// the change. ENotFound; EInvalid.
	UpdateDevice(ctx context.Context, idOrIdent string, u DeviceUpdate) (*Device, error)
	// UnassignDevice takes a device back from its tenant. ENotFound;
	// EConflict when no tenant holds it.
	UnassignDevice(ctx context.Context, idOrIdent string) (*Device, error)
	// RotateToken replaces a device's credential and returns the new one;
	// the old one stops working at once. ENotFound.
	RotateToken(ctx context.Context, idOrIdent string) (string, error)
	// Custody lists who held a device when, oldest first. ENotFound.
	Custody(ctx context.Context, idOrIdent string) ([]Custody, error)
}

// How a device's custody or credential changed, in a DeviceChange.
const (
	DeviceAssigned    = "assign"   // given to a tenant that did not hold it
	DeviceTransferred = "transfer" // moved from one tenant to another
	DeviceUnassigned  = "unassign" // taken back from its tenant
	DeviceRotated     = "rotate"   // its credential replaced
)

// DeviceChange is a committed change of who holds a device or of its
// credential.
type DeviceChange struct {
	// Device is the device after the change.
	Device *Device
	// Action is one of DeviceAssigned, DeviceTransferred, DeviceUnassigned
	// and DeviceRotated.
	Action string
	// FromTenantID is the tenant that held the device before, "" for none.
	FromTenantID string
}

// DeviceEvents is told of every committed DeviceChange, so the shared
// infrastructure devices reach (the MQTT broker: retained messages,
// sessions, queued messages) drops what the device left there under its
// old tenant or credential before the device, or whoever still holds the
// old credential, can read it. The device inventory calls it after
// commit; DeviceChanged must not block for long and cannot undo the
// change, so it reports its own failures (to its log).
type DeviceEvents interface {
	DeviceChanged(ctx context.Context, c DeviceChange)
}

// DeviceAccounts keeps each device's account at an external MQTT broker in
// step with the inventory: its credential, which exists in plain only as
// it is made (the inventory keeps a hash), and whether it may connect
// (only while a tenant holds it). The inventory calls it inside the
// transaction of the change, before commit, so a change the broker
// refused is not made.
type DeviceAccounts interface {
	// SetDeviceAccount makes or updates the account of the device named
	// ident: token, unless "", is its new credential (the old one stops
	// working, and connections made with it are closed); enabled says
	// whether it may connect (a device disabled is disconnected at once).
	// A device with no account that gets no token keeps none: it cannot
	// connect until its credential is rotated, which the implementation
	// logs. Any error is the broker's refusal or absence.
	SetDeviceAccount(ctx context.Context, ident, token string, enabled bool) error
}

// DeviceSettingsEvents is told that a tenant changed the settings of a
// device it holds, after commit, on another node: the node the device is
// connected to passes them on (the MQTT broker publishes them on the
// device's config topic), reading them afresh, and only while that tenant
// still holds the device. The node that made the change passes them on
// itself. DeviceSettingsChanged must not block for long; it reports its
// own failures (to its log).
type DeviceSettingsEvents interface {
	DeviceSettingsChanged(ctx context.Context, tenantID, deviceID string)
}
