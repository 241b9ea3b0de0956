package qm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limit names one of the limits a plan sets: the same snake_case key in the
// command line, the API and the configuration.
type Limit string

// The limits. 0 means unlimited.
const (
	MaxAssets             Limit = "max_assets"
	MaxDevices            Limit = "max_devices"
	MaxMembers            Limit = "max_members" // members and pending invitations
	MaxCustomFields       Limit = "max_custom_fields"
	MaxAPITokens          Limit = "max_api_tokens"
	MaxLocations          Limit = "max_locations"
	MaxRules              Limit = "max_rules"
	MaxGeofences          Limit = "max_geofences"
	NotificationsPerHour  Limit = "notifications_per_hour"
	APIRequestsPerSecond  Limit = "api_requests_per_second"
	APIBurst              Limit = "api_burst"
	PointsPerSecond       Limit = "points_per_second"
	PointsBurst           Limit = "points_burst"
	DevicePointsPerSecond Limit = "device_points_per_second"
	MQTTMessagesPerSecond Limit = "mqtt_messages_per_second"
	PointsPerMonth        Limit = "points_per_month"
	APIRequestsPerMonth   Limit = "api_requests_per_month"
	MaxStoredPoints       Limit = "max_stored_points"
	MaxRetentionDays      Limit = "max_retention_days"
)

// FeaturesKey is the key of the list of features a plan turns on.
const FeaturesKey = "features"

// LimitDef describes a limit.
type LimitDef struct {
	Key Limit
	// Whole limits count things; the others are rates, which may be
	// fractions (0.5 a second).
	Whole bool
	// Noun is what the limit bounds, for messages ("assets").
	Noun string
}

// Limits lists every limit, in the order they are shown.
var Limits = []LimitDef{
	{MaxAssets, true, "assets"},
	{MaxDevices, true, "devices"},
	{MaxMembers, true, "members and pending invitations"},
	{MaxCustomFields, true, "custom fields"},
	{MaxAPITokens, true, "API tokens"},
	{MaxLocations, true, "locations"},
	{MaxRules, true, "rules"},
	{MaxGeofences, true, "geofences"},
	{NotificationsPerHour, true, "notifications an hour"},
	{APIRequestsPerSecond, false, "API requests a second"},
	{APIBurst, true, "API requests at once"},
	{PointsPerSecond, false, "points a second"},
	{PointsBurst, true, "points at once"},
	{DevicePointsPerSecond, false, "points a second from one device"},
	{MQTTMessagesPerSecond, false, "MQTT messages a second from one device"},
	{PointsPerMonth, true, "points a month"},
	{APIRequestsPerMonth, true, "API requests a month"},
	{MaxStoredPoints, true, "stored points"},
	{MaxRetentionDays, true, "days of retention"},
}

// LimitDefOf returns the definition of key, and whether there is one.
func LimitDefOf(key Limit) (LimitDef, bool) {
	i := slices.IndexFunc(Limits, func(d LimitDef) bool { return d.Key == key })
	if i < 0 {
		return LimitDef{}, false
	}
	return Limits[i], true
}

// Feature is a part of the product a plan may turn off.
type Feature string

// The features. Every one is on unless a plan lists the features it has.
const (
	FeatureFleet        Feature = "fleet"
	FeatureCustomFields Feature = "custom_fields"
	FeatureImport       Feature = "import"
	FeatureAPITokens    Feature = "api_tokens"
	FeatureLabels       Feature = "labels"
)

// Features lists every feature.
var Features = []Feature{FeatureFleet, FeatureCustomFields, FeatureImport, FeatureAPITokens, FeatureLabels}

// LimitSet is a set of limits as a plan holds them, or as a tenant's
// overrides hold what differs from its plan: a limit it does not set takes
// its value from below (a tenant's from its plan, a plan's from the
// defaults: unlimited, every feature on). In JSON it is one flat object,
// {"max_assets": 5, "features": ["fleet"]}.
type LimitSet struct {
	Values map[Limit]float64
	// Features, when not nil, are the only features on.
	Features *[]Feature
}

// Empty reports whether s sets nothing.
func (s LimitSet) Empty() bool { return len(s.Values) == 0 && s.Features == nil }

// Set sets key (a limit's, or FeaturesKey) to value, as the command line
// and the API give it: a number, or for features a comma-separated list
// ("" for none). EInvalid naming the key.
func (s *LimitSet) Set(key, value string) error {
	if key == FeaturesKey {
		fs := []Feature{}
		for _, f := range strings.Split(value, ",") {
			if f = strings.TrimSpace(f); f != "" {
				fs = append(fs, Feature(f))
			}
		}
		return s.setFeatures(fs)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return s.fieldError(key, fmt.Sprintf("%s must be a number, not %q", key, value))
	}
	return s.setValue(Limit(key), v)
}

// Unset removes key from s, so it takes its value from below.
func (s *LimitSet) Unset(key string) error {
	if key == FeaturesKey {
		s.Features = nil
		return nil
	}
	if _, ok := LimitDefOf(Limit(key)); !ok {
		return unknownLimit(key)
	}
	delete(s.Values, Limit(key))
	return nil
}

func (s *LimitSet) setValue(key Limit, v float64) error {
	def, ok := LimitDefOf(key)
	switch {
	case !ok:
		return unknownLimit(string(key))
	case math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15:
		return s.fieldError(string(key), fmt.Sprintf("%s must be from 0 (unlimited) to 10^15", key))
	case def.Whole && v != math.Trunc(v):
		return s.fieldError(string(key), fmt.Sprintf("%s must be a whole number", key))
	}
	if s.Values == nil {
		s.Values = map[Limit]float64{}
	}
	s.Values[key] = v
	return nil
}

func (s *LimitSet) setFeatures(fs []Feature) error {
	for _, f := range fs {
		if !slices.Contains(Features, f) {
			return s.fieldError(FeaturesKey, fmt.Sprintf("unknown feature %q: the features are %s", f, joinFeatures(Features)))
		}
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	s.Features = &fs
	return nil
}

func (s *LimitSet) fieldError(key, msg string) error {
	return &Error{Code: EInvalid, Message: msg, Fields: map[string]string{key: msg}}
}

func unknownLimit(key string) error {
	keys := make([]string, 0, len(Limits)+1)
	for _, d := range Limits {
		keys = append(keys, string(d.Key))
	}
	msg := fmt.Sprintf("unknown limit %q: the limits are %s and %s", key, strings.Join(keys, ", "), FeaturesKey)
	return &Error{Code: EInvalid, Message: msg, Fields: map[string]string{key: "unknown limit"}}
}

func joinFeatures(fs []Feature) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// MarshalJSON writes s as one flat object, limits in key order.
func (s LimitSet) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	keys := make([]string, 0, len(s.Values))
	for k := range s.Values {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", k, strconv.FormatFloat(s.Values[Limit(k)], 'f', -1, 64))
	}
	if s.Features != nil {
		if len(keys) > 0 {
			b.WriteByte(',')
		}
		fs, _ := json.Marshal(*s.Features)
		fmt.Fprintf(&b, "%q:%s", FeaturesKey, fs)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a flat object, checking every key and value.
func (s *LimitSet) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return &Error{Code: EInvalid, Message: "limits must be an object of numbers by limit, with features a list"}
	}
	*s = LimitSet{}
	for k, v := range raw {
		if k == FeaturesKey {
			var fs []Feature
			if err := json.Unmarshal(v, &fs); err != nil || fs == nil {
				return s.fieldError(k, "features must be a list of feature names")
			}
			if err := s.setFeatures(fs); err != nil {
				return err
			}
			continue
		}
		var n float64
		if err := json.Unmarshal(v, &n); err != nil {
			if _, ok := LimitDefOf(Limit(k)); !ok {
				return unknownLimit(k)
			}
			return s.fieldError(k, fmt.Sprintf("%s must be a number", k))
		}
		if err := s.setValue(Limit(k), n); err != nil {
			return err
		}
	}
	return nil
}

// Change returns s without the limits of unset (keys, FeaturesKey among
// them) and with set laid over it. EInvalid for an unknown key.
func (s LimitSet) Change(set LimitSet, unset []string) (LimitSet, error) {
	out := s.Over(LimitSet{})
	for _, key := range unset {
		if err := out.Unset(key); err != nil {
			return LimitSet{}, err
		}
	}
	return out.Over(set), nil
}

// Over returns s with what over sets laid over it.
func (s LimitSet) Over(over LimitSet) LimitSet {
	out := LimitSet{Values: map[Limit]float64{}, Features: s.Features}
	for k, v := range s.Values {
		out.Values[k] = v
	}
	for k, v := range over.Values {
		out.Values[k] = v
	}
	if over.Features != nil {
		out.Features = over.Features
	}
	return out
}

// Plan is a named set of limits the operator defines; a tenant has one, and
// overrides that list what differs for it.
type Plan struct {
	Name      string    `json:"name"`
	Limits    LimitSet  `json:"limits"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DefaultPlan is the plan of a tenant given none: unlimited, every feature
// on. It need not be stored.
const DefaultPlan = "default"

// Validate checks the plan's name: lower-case letters, digits and hyphens.
func (p *Plan) Validate() error {
	if !validPlanName(p.Name) {
		return &Error{Code: EInvalid, Message: "a plan's name is 1 to 40 lower-case letters, digits and hyphens, starting with a letter",
			Fields: map[string]string{"name": "1 to 40 of a-z, 0-9 and -, starting with a letter"}}
	}
	return nil
}

func validPlanName(name string) bool {
	if name == "" || len(name) > 40 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// TenantLimits are a tenant's plan, its overrides, and the limits they make.
type TenantLimits struct {
	Plan string `json:"plan"`
	// PlanLimits are what the plan sets; Overrides what differs for the
	// tenant.
	PlanLimits LimitSet  `json:"plan_limits"`
	Overrides  LimitSet  `json:"overrides"`
	Effective  Effective `json:"effective"`
}

// Effective are the limits a tenant works under: its plan's with its
// overrides laid over them. One accessor a limit; 0 means unlimited. The
// zero value is the default plan's: unlimited, every feature on. It is
// comparable, as the tenant that carries it is.
type Effective struct {
	values [limitCount]float64
	// off has bit i set when Features[i] is off.
	off uint32
}

// limitCount is len(Limits), which a test checks.
const limitCount = 19

// limitIndex is each limit's place in Limits.
var limitIndex = func() map[Limit]int {
	m := make(map[Limit]int, len(Limits))
	for i, d := range Limits {
		m[d.Key] = i
	}
	return m
}()

// EffectiveLimits lays overrides over plan.
func EffectiveLimits(plan, overrides LimitSet) Effective {
	var e Effective
	set := plan.Over(overrides)
	for k, v := range set.Values {
		e.values[limitIndex[k]] = v
	}
	if set.Features != nil {
		for i, f := range Features {
			if !slices.Contains(*set.Features, f) {
				e.off |= 1 << i
			}
		}
	}
	return e
}

// Value returns the limit of key; 0 means unlimited.
func (e Effective) Value(key Limit) float64 {
	i, ok := limitIndex[key]
	if !ok {
		return 0
	}
	return e.values[i]
}

// Has reports whether feature f is on.
func (e Effective) Has(f Feature) bool {
	i := slices.Index(Features, f)
	return i < 0 || e.off&(1<<i) == 0
}

// MarshalJSON writes every limit, and the features on.
func (e Effective) MarshalJSON() ([]byte, error) {
	full := LimitSet{Values: map[Limit]float64{}}
	for _, d := range Limits {
		full.Values[d.Key] = e.Value(d.Key)
	}
	on := []Feature{}
	for _, f := range Features {
		if e.Has(f) {
			on = append(on, f)
		}
	}
	full.Features = &on
	return full.MarshalJSON()
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Effective) UnmarshalJSON(data []byte) error {
	var s LimitSet
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*e = EffectiveLimits(s, LimitSet{})
	return nil
}

// The accessors, one a limit.
func (e Effective) MaxAssets() int64              { return int64(e.Value(MaxAssets)) }
func (e Effective) MaxDevices() int64             { return int64(e.Value(MaxDevices)) }
func (e Effective) MaxMembers() int64             { return int64(e.Value(MaxMembers)) }
func (e Effective) MaxCustomFields() int64        { return int64(e.Value(MaxCustomFields)) }
func (e Effective) MaxAPITokens() int64           { return int64(e.Value(MaxAPITokens)) }
func (e Effective) MaxLocations() int64           { return int64(e.Value(MaxLocations)) }
func (e Effective) MaxRules() int64               { return int64(e.Value(MaxRules)) }
func (e Effective) MaxGeofences() int64           { return int64(e.Value(MaxGeofences)) }
func (e Effective) NotificationsPerHour() int64   { return int64(e.Value(NotificationsPerHour)) }
func (e Effective) APIRequestsPerSecond() float64 { return e.Value(APIRequestsPerSecond) }
func (e Effective) APIBurst() int                 { return int(e.Value(APIBurst)) }
func (e Effective) PointsPerSecond() float64      { return e.Value(PointsPerSecond) }
func (e Effective) PointsBurst() int              { return int(e.Value(PointsBurst)) }
func (e Effective) DevicePointsPerSecond() float64 {
	return e.Value(DevicePointsPerSecond)
}
func (e Effective) MQTTMessagesPerSecond() float64 { return e.Value(MQTTMessagesPerSecond) }
func (e Effective) PointsPerMonth() int64          { return int64(e.Value(PointsPerMonth)) }
func (e Effective) APIRequestsPerMonth() int64     { return int64(e.Value(APIRequestsPerMonth)) }
func (e Effective) MaxStoredPoints() int64         { return int64(e.Value(MaxStoredPoints)) }
func (e Effective) MaxRetentionDays() int          { return int(e.Value(MaxRetentionDays)) }

// Room checks that the tenant may add adding things counted by cap key to
// count it has: ELimitReached naming the limit, its value and the count.
func (e Effective) Room(key Limit, count, adding int64) error {
	max := int64(e.Value(key))
	if max == 0 || count+adding <= max {
		return nil
	}
	def, _ := LimitDefOf(key)
	return &Error{Code: ELimitReached, Message: fmt.Sprintf("the tenant's plan allows %d %s (%s), and it has %d", max, def.Noun, key, count),
		Limit: &LimitReached{Limit: key, Value: max, Count: count}}
}

// Feature checks that feature f is on: EFeatureDisabled naming it.
func (e Effective) Feature(f Feature) error {
	if e.Has(f) {
		return nil
	}
	return &Error{Code: EFeatureDisabled, Message: fmt.Sprintf("the tenant's plan does not include %s (feature %s)", featureNouns[f], f),
		Limit: &LimitReached{Feature: f}}
}

var featureNouns = map[Feature]string{FeatureFleet: "the fleet", FeatureCustomFields: "custom fields", FeatureImport: "imports",
	FeatureAPITokens: "API tokens", FeatureLabels: "labels"}

// LimitReached says which limit refused a request, for clients to act on.
type LimitReached struct {
	Limit   Limit   `json:"limit,omitempty"`
	Value   int64   `json:"value,omitempty"`
	Count   int64   `json:"count,omitempty"`
	Feature Feature `json:"feature,omitempty"`
}

// TenantCacheTTL is how long a node may work from its copy of a tenant's
// catalog row when it misses the published change of it: a change of a
// tenant's limits, or of its plan's, reaches every node as soon as its
// watcher of the catalog's changes reads it, and within this time if
// that fails.
const TenantCacheTTL = 5 * time.Second

// PlanService manages the plans and every tenant's place on them. Operator
// only; every change of a tenant's limits is in its audit log, and takes
// effect on every node as soon as the node reads the published change
// (within TenantCacheTTL if it misses it).
type PlanService interface {
	// CreatePlan stores p. EInvalid; EConflict for a taken name.
	CreatePlan(ctx context.Context, p *Plan) error
	// UpdatePlan sets (set) and removes (unset) limits of plan name; its
	// tenants work under the change as every change of limits takes
	// effect. ENotFound, EInvalid.
	UpdatePlan(ctx context.Context, name string, set LimitSet, unset []string) (*Plan, error)
	// Plan returns one plan; ENotFound.
	Plan(ctx context.Context, name string) (*Plan, error)
	// Plans lists the plans by name.
	Plans(ctx context.Context) ([]*Plan, error)
	// SetTenantPlan puts the tenant with the given slug on plan (which
	// must exist, or be DefaultPlan). ENotFound, EInvalid.
	SetTenantPlan(ctx context.Context, slug, plan string) (*TenantLimits, error)
	// TenantLimits returns the tenant's plan, overrides and effective
	// limits. ENotFound.
	TenantLimits(ctx context.Context, slug string) (*TenantLimits, error)
	// SetTenantOverrides sets (set) and removes (unset) the tenant's
	// overrides. ENotFound, EInvalid.
	SetTenantOverrides(ctx context.Context, slug string, set LimitSet, unset []string) (*TenantLimits, error)
}
