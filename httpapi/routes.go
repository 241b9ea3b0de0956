package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/tenancy"
)

// Access says who may call a route.
type Access int

// Kinds of access.
const (
	// Public routes need no credentials.
	Public Access = iota
	// Authenticated routes need a session or a token, and no tenant.
	Authenticated
	// Operator routes need the operator's session.
	Operator
	// Tenant routes name a tenant in the path ({tenant}); the caller must
	// be a member holding Permission, or an API token of that tenant.
	Tenant
	// Device routes are called by devices, with a device's credential;
	// the tenant is the one holding the device.
	Device
)

// Route is one entry of the route table.
type Route struct {
	Method string
	Path   string // a net/http pattern; tenant routes have {tenant}
	Access Access
	// Permission is what a Tenant route needs; empty means membership.
	Permission qm.Permission
	Handle     func(s *Server, w http.ResponseWriter, r *http.Request) error
	// Body is the request body's type (nil: none); Reply is the success
	// response's type (nil: none), sent with Status. The OpenAPI
	// description is made from them.
	Body   any
	Reply  any
	Status int
}

// departmental are the tenant paths (after /api/v1/t/{tenant}) whose data
// belongs to a department: assets and devices, what hangs off them, and a
// license's seats, given to them. Their services confine every call to the
// member's department. Every other tenant route reaches what the whole
// tenant shares, which a member confined to a department may read but not
// change: a route left off this list is safe, only less useful to them.
var departmental = []string{"/assets", "/imports", "/devices/", "/licenses/{id}/seats", "/rules", "/alarms", "/events", "/notifications"}

// Departmental reports whether the route's data belongs to a department.
func (rt Route) Departmental() bool {
	rest, ok := strings.CutPrefix(rt.Path, "/api/v1/t/{tenant}")
	return ok && slices.ContainsFunc(departmental, func(prefix string) bool { return strings.HasPrefix(rest, prefix) })
}

// features are the tenant paths (after /api/v1/t/{tenant}) of the
// features a plan may turn off, by prefix.
var features = []struct {
	prefix  string
	feature qm.Feature
}{
	{"/devices", qm.FeatureFleet}, {"/fleet/", qm.FeatureFleet}, {"/settings/fleet", qm.FeatureFleet}, {"/geofences", qm.FeatureFleet},
	{"/fields", qm.FeatureCustomFields}, // and /fieldsets
	{"/imports", qm.FeatureImport}, {"/assets/import", qm.FeatureImport},
	{"/tokens", qm.FeatureAPITokens},
	{"/assets/labels", qm.FeatureLabels}, {"/assets/{id}/label.svg", qm.FeatureLabels},
}

// Feature is the feature the route belongs to, "" for none.
func (rt Route) Feature() qm.Feature {
	rest, ok := strings.CutPrefix(rt.Path, "/api/v1/t/{tenant}")
	if !ok {
		return ""
	}
	for _, f := range features {
		if strings.HasPrefix(rest, f.prefix) {
			return f.feature
		}
	}
	return ""
}

// Routes is every route the server answers.
var Routes = append(baseRoutes, referenceRoutes()...)

var baseRoutes = []Route{
	{"GET", "/healthz", Public, "", (*Server).healthz, nil, statusReply{}, 200},
	{"GET", "/readyz", Public, "", (*Server).readyz, nil, statusReply{}, 200},

	{"GET", "/api/v1/openapi.json", Public, "", (*Server).openapi, nil, map[string]any{}, 200},

	{"POST", "/api/v1/auth/login", Public, "", (*Server).login, loginRequest{}, session{}, 200},
	{"POST", "/api/v1/auth/logout", Public, "", (*Server).logout, nil, nil, 204},
	{"GET", "/api/v1/auth/me", Authenticated, "", (*Server).me, nil, meReply{}, 200},
	{"GET", "/api/v1/map", Authenticated, "", (*Server).mapConfig, nil, mapConfig{}, 200},
	{"GET", "/api/v1/map/tiles.pmtiles", Authenticated, "", (*Server).mapTiles, nil, pmtilesFile, 200},
	{"POST", "/api/v1/auth/password", Authenticated, "", (*Server).changePassword, passwordRequest{}, session{}, 200},
	{"POST", "/api/v1/auth/reset-password", Public, "", (*Server).resetPassword, resetRequest{}, session{}, 200},
	{"GET", "/api/v1/invitations/{token}", Public, "", (*Server).lookupInvitation, nil, qm.InvitationView{}, 200},
	{"POST", "/api/v1/invitations/{token}/accept", Public, "", (*Server).acceptInvitation, acceptRequest{}, acceptReply{}, 200},

	{"GET", "/api/v1/operator/tenants", Operator, "", (*Server).operatorTenants, nil, tenantList{}, 200},
	{"POST", "/api/v1/operator/tenants", Operator, "", (*Server).operatorCreateTenant, tenantRequest{}, qm.Tenant{}, 201},
	{"GET", "/api/v1/operator/tenants/{tenant}", Operator, "", (*Server).operatorTenant, nil, operatorTenantDetail{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/suspend", Operator, "", (*Server).operatorSuspend, nil, qm.Tenant{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/resume", Operator, "", (*Server).operatorResume, nil, qm.Tenant{}, 200},
	{"DELETE", "/api/v1/operator/tenants/{tenant}", Operator, "", (*Server).operatorDeleteTenant, deleteRequest{}, qm.Tenant{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/restore", Operator, "", (*Server).operatorRestoreTenant, nil, restoreReply{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/purge", Operator, "", (*Server).operatorPurgeTenant, purgeRequest{}, qm.Tombstone{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/exports", Operator, "", (*Server).startExport, nil, exportJob{}, 202},
	{"GET", "/api/v1/operator/exports", Operator, "", (*Server).listExports, nil, exportJobList{}, 200},
	{"GET", "/api/v1/operator/exports/{id}", Operator, "", (*Server).getExport, nil, exportJob{}, 200},
	{"GET", "/api/v1/operator/exports/{id}/archive", Operator, "", (*Server).downloadExport, nil, archiveFile, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/moves", Operator, "", (*Server).startMove, moveRequest{}, moveJob{}, 202},
	{"GET", "/api/v1/operator/moves", Operator, "", (*Server).listMoves, nil, moveJobList{}, 200},
	{"GET", "/api/v1/operator/moves/{id}", Operator, "", (*Server).getMove, nil, moveJob{}, 200},
	{"POST", "/api/v1/operator/imports", Operator, "", (*Server).importTenant, archiveFile, importedTenant{}, 201},
	{"GET", "/api/v1/operator/tombstones", Operator, "", (*Server).operatorTombstones, nil, tombstoneList{}, 200},
	{"GET", "/api/v1/operator/audit", Operator, "", (*Server).operatorAudit, nil, operatorAuditPage{}, 200},
	{"POST", "/api/v1/operator/tenants/{tenant}/members", Operator, "", (*Server).operatorInvite, invitationRequest{}, qm.Invitation{}, 201},
	{"POST", "/api/v1/operator/tenants/{tenant}/break-glass", Operator, "", (*Server).operatorBreakGlass, breakGlassRequest{}, breakGlassReply{}, 201},
	{"GET", "/api/v1/operator/tenants/{tenant}/limits", Operator, "", (*Server).tenantLimits, nil, qm.TenantLimits{}, 200},
	{"PATCH", "/api/v1/operator/tenants/{tenant}/limits", Operator, "", (*Server).changeTenantLimits, tenantLimitsChange{}, qm.TenantLimits{}, 200},
	{"GET", "/api/v1/operator/usage", Operator, "", (*Server).operatorUsage, nil, usageLines{}, 200},
	{"GET", "/api/v1/operator/servers", Operator, "", (*Server).operatorServers, nil, serverList{}, 200},
	{"GET", "/api/v1/operator/plans", Operator, "", (*Server).listPlans, nil, planList{}, 200},
	{"POST", "/api/v1/operator/plans", Operator, "", (*Server).createPlan, planRequest{}, qm.Plan{}, 201},
	{"GET", "/api/v1/operator/plans/{plan}", Operator, "", (*Server).getPlan, nil, qm.Plan{}, 200},
	{"PATCH", "/api/v1/operator/plans/{plan}", Operator, "", (*Server).updatePlan, limitsChange{}, qm.Plan{}, 200},
	{"POST", "/ingest/v1/points", Device, "", (*Server).ingestPoints, []ingestPoint{}, ingestReply{}, 200},
	{"GET", "/ingest/v1/config", Device, "", (*Server).deviceConfig, nil, deviceConfigReply{}, 200},

	{"GET", "/api/v1/t/{tenant}/usage", Tenant, qm.PermSettingsManage, (*Server).tenantUsage, nil, qm.Usage{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices", Tenant, qm.PermDevicesRead, (*Server).listFleetDevices, nil, fleetDeviceList{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices/{device}", Tenant, qm.PermDevicesRead, (*Server).getFleetDevice, nil, qm.FleetDevice{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/devices/{device}", Tenant, qm.PermDevicesWrite, (*Server).updateFleetDevice, qm.FleetDeviceUpdate{}, qm.FleetDevice{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices/{device}/latest", Tenant, qm.PermDevicesRead, (*Server).deviceLatest, nil, qm.DeviceState{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices/{device}/points", Tenant, qm.PermDevicesRead, (*Server).devicePoints, nil, pointPage{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices/{device}/trips", Tenant, qm.PermDevicesRead, (*Server).deviceTrips, nil, tripList{}, 200},
	{"GET", "/api/v1/t/{tenant}/devices/{device}/aggregates", Tenant, qm.PermDevicesRead, (*Server).deviceAggregates, nil, bucketList{}, 200},
	{"GET", "/api/v1/t/{tenant}/fleet/summary", Tenant, qm.PermDevicesRead, (*Server).fleetSummary, nil, qm.FleetSummary{}, 200},
	{"GET", "/api/v1/t/{tenant}/fleet/positions", Tenant, qm.PermDevicesRead, (*Server).fleetPositions, nil, fleetPositionList{}, 200},
	{"GET", "/api/v1/t/{tenant}/fleet/events", Tenant, qm.PermDevicesRead, (*Server).fleetEvents, nil, eventStream, 200},
	{"GET", "/api/v1/t/{tenant}/settings/fleet", Tenant, qm.PermDevicesRead, (*Server).getFleetSettings, nil, qm.FleetSettings{}, 200},
	{"PUT", "/api/v1/t/{tenant}/settings/fleet", Tenant, qm.PermSettingsManage, (*Server).setFleetSettings, qm.FleetSettings{}, qm.FleetSettings{}, 200},

	{"GET", "/api/v1/operator/devices", Operator, "", (*Server).operatorDevices, nil, deviceList{}, 200},
	{"POST", "/api/v1/operator/devices", Operator, "", (*Server).operatorRegisterDevice, deviceRequest{}, deviceCredential{}, 201},
	{"POST", "/api/v1/operator/devices/import", Operator, "", (*Server).operatorImportDevices, csvFile, deviceCredentials{}, 201},
	{"GET", "/api/v1/operator/devices/{device}", Operator, "", (*Server).operatorDevice, nil, qm.Device{}, 200},
	{"PATCH", "/api/v1/operator/devices/{device}", Operator, "", (*Server).operatorUpdateDevice, qm.DeviceUpdate{}, qm.Device{}, 200},
	{"POST", "/api/v1/operator/devices/{device}/assign", Operator, "", (*Server).operatorAssignDevice, assignRequest{}, deviceCredential{}, 200},
	{"POST", "/api/v1/operator/devices/{device}/unassign", Operator, "", (*Server).operatorUnassignDevice, nil, qm.Device{}, 200},
	{"POST", "/api/v1/operator/devices/{device}/rotate", Operator, "", (*Server).operatorRotateDevice, nil, deviceCredential{}, 200},
	{"GET", "/api/v1/operator/devices/{device}/custody", Operator, "", (*Server).operatorDeviceCustody, nil, custodyList{}, 200},

	{"GET", "/api/v1/t/{tenant}", Tenant, "", (*Server).ownTenant, nil, tenantHome{}, 200},

	{"GET", "/api/v1/t/{tenant}/geofences", Tenant, qm.PermDevicesRead, (*Server).listGeofences, nil, geofenceList{}, 200},
	{"POST", "/api/v1/t/{tenant}/geofences", Tenant, qm.PermDevicesWrite, (*Server).createGeofence, geofenceRequest{}, qm.Geofence{}, 201},
	{"GET", "/api/v1/t/{tenant}/geofences/{id}", Tenant, qm.PermDevicesRead, (*Server).getGeofence, nil, qm.Geofence{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/geofences/{id}", Tenant, qm.PermDevicesWrite, (*Server).updateGeofence, qm.GeofenceUpdate{}, qm.Geofence{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/geofences/{id}", Tenant, qm.PermDevicesWrite, (*Server).deleteGeofence, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/rules", Tenant, qm.PermDevicesRead, (*Server).listRules, nil, ruleList{}, 200},
	{"POST", "/api/v1/t/{tenant}/rules", Tenant, qm.PermDevicesWrite, (*Server).createRule, qm.RuleDefinition{}, qm.Rule{}, 201},
	{"GET", "/api/v1/t/{tenant}/rules/{id}", Tenant, qm.PermDevicesRead, (*Server).getRule, nil, qm.Rule{}, 200},
	{"PUT", "/api/v1/t/{tenant}/rules/{id}", Tenant, qm.PermDevicesWrite, (*Server).replaceRule, qm.RuleDefinition{}, qm.Rule{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/rules/{id}", Tenant, qm.PermDevicesWrite, (*Server).deleteRule, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/alarms", Tenant, qm.PermDevicesRead, (*Server).listAlarms, nil, alarmList{}, 200},
	{"GET", "/api/v1/t/{tenant}/alarms/{id}", Tenant, qm.PermDevicesRead, (*Server).getAlarm, nil, qm.Alarm{}, 200},
	{"POST", "/api/v1/t/{tenant}/alarms/{id}/acknowledge", Tenant, qm.PermDevicesWrite, (*Server).acknowledgeAlarm, nil, qm.Alarm{}, 200},
	{"POST", "/api/v1/t/{tenant}/alarms/{id}/clear", Tenant, qm.PermDevicesWrite, (*Server).clearAlarm, nil, qm.Alarm{}, 200},
	{"GET", "/api/v1/t/{tenant}/alarms/{id}/events", Tenant, qm.PermDevicesRead, (*Server).listAlarmEvents, nil, alarmEventList{}, 200},
	{"GET", "/api/v1/t/{tenant}/events", Tenant, qm.PermDevicesRead, (*Server).listAlarmEvents, nil, alarmEventList{}, 200},
	{"GET", "/api/v1/t/{tenant}/notifications", Tenant, qm.PermDevicesRead, (*Server).listUnread, nil, unreadList{}, 200},
	{"POST", "/api/v1/t/{tenant}/notifications/read", Tenant, qm.PermDevicesRead, (*Server).markRead, markReadRequest{}, nil, 204},
	{"GET", "/api/v1/t/{tenant}/notification-channels", Tenant, qm.PermDevicesRead, (*Server).listChannels, nil, channelList{}, 200},
	{"POST", "/api/v1/t/{tenant}/notification-channels", Tenant, qm.PermSettingsManage, (*Server).createChannel, qm.ChannelDefinition{}, newChannel{}, 201},
	{"GET", "/api/v1/t/{tenant}/notification-channels/{id}", Tenant, qm.PermDevicesRead, (*Server).getChannel, nil, qm.Channel{}, 200},
	{"PUT", "/api/v1/t/{tenant}/notification-channels/{id}", Tenant, qm.PermSettingsManage, (*Server).replaceChannel, qm.ChannelDefinition{}, qm.Channel{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/notification-channels/{id}", Tenant, qm.PermSettingsManage, (*Server).deleteChannel, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/notification-channels/{id}/deliveries", Tenant, qm.PermDevicesRead, (*Server).listDeliveries, nil, deliveryList{}, 200},
	{"POST", "/api/v1/t/{tenant}/notification-channels/{id}/test", Tenant, qm.PermSettingsManage, (*Server).testChannel, nil, qm.DeliveryAttempt{}, 200},
	{"GET", "/api/v1/t/{tenant}/locations", Tenant, qm.PermAssetsRead, (*Server).listLocations, nil, locationList{}, 200},
	{"POST", "/api/v1/t/{tenant}/locations", Tenant, qm.PermAssetsWrite, (*Server).createLocation, locationRequest{}, qm.Location{}, 201},
	{"GET", "/api/v1/t/{tenant}/locations/{id}", Tenant, qm.PermAssetsRead, (*Server).getLocation, nil, qm.Location{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/locations/{id}", Tenant, qm.PermAssetsWrite, (*Server).updateLocation, qm.LocationUpdate{}, qm.Location{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/locations/{id}", Tenant, qm.PermAssetsWrite, (*Server).deleteLocation, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/tokens", Tenant, qm.PermTokensManage, (*Server).listTokens, nil, tokenList{}, 200},
	{"POST", "/api/v1/t/{tenant}/tokens", Tenant, qm.PermTokensManage, (*Server).createToken, tokenRequest{}, newToken{}, 201},
	{"DELETE", "/api/v1/t/{tenant}/tokens/{id}", Tenant, qm.PermTokensManage, (*Server).revokeToken, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/members", Tenant, qm.PermUsersManage, (*Server).listMembers, nil, memberList{}, 200},
	{"POST", "/api/v1/t/{tenant}/members", Tenant, qm.PermUsersManage, (*Server).invite, invitationRequest{}, qm.Invitation{}, 201},
	{"PATCH", "/api/v1/t/{tenant}/members/{id}", Tenant, qm.PermUsersManage, (*Server).updateMember, qm.MemberUpdate{}, qm.Member{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/members/{id}", Tenant, qm.PermUsersManage, (*Server).removeMember, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/people", Tenant, qm.PermAssetsRead, (*Server).listPeople, nil, personList{}, 200},
	{"GET", "/api/v1/t/{tenant}/invitations", Tenant, qm.PermUsersManage, (*Server).listInvitations, nil, invitationList{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/invitations/{id}", Tenant, qm.PermUsersManage, (*Server).revokeInvitation, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/departments", Tenant, "", (*Server).listDepartments, nil, departmentList{}, 200},
	{"POST", "/api/v1/t/{tenant}/departments", Tenant, qm.PermUsersManage, (*Server).createDepartment, departmentRequest{}, qm.Department{}, 201},
	{"GET", "/api/v1/t/{tenant}/departments/{id}", Tenant, "", (*Server).getDepartment, nil, qm.Department{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/departments/{id}", Tenant, qm.PermUsersManage, (*Server).updateDepartment, qm.DepartmentUpdate{}, qm.Department{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/departments/{id}", Tenant, qm.PermUsersManage, (*Server).deleteDepartment, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/roles", Tenant, "", (*Server).listRoles, nil, roleList{}, 200},
	{"POST", "/api/v1/t/{tenant}/roles", Tenant, qm.PermUsersManage, (*Server).createRole, roleRequest{}, qm.Role{}, 201},
	{"DELETE", "/api/v1/t/{tenant}/roles/{name}", Tenant, qm.PermUsersManage, (*Server).deleteRole, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/models", Tenant, qm.PermAssetsRead, (*Server).listModels, nil, modelList{}, 200},
	{"POST", "/api/v1/t/{tenant}/models", Tenant, qm.PermAssetsWrite, (*Server).createModel, modelRequest{}, qm.Model{}, 201},
	{"GET", "/api/v1/t/{tenant}/models/{id}", Tenant, qm.PermAssetsRead, (*Server).getModel, nil, qm.Model{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/models/{id}", Tenant, qm.PermAssetsWrite, (*Server).updateModel, qm.ModelUpdate{}, qm.Model{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/models/{id}", Tenant, qm.PermAssetsWrite, (*Server).deleteModel, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/depreciations", Tenant, qm.PermAssetsRead, (*Server).listDepreciations, nil, depreciationList{}, 200},
	{"POST", "/api/v1/t/{tenant}/depreciations", Tenant, qm.PermAssetsWrite, (*Server).createDepreciation, depreciationRequest{}, qm.Depreciation{}, 201},
	{"PATCH", "/api/v1/t/{tenant}/depreciations/{id}", Tenant, qm.PermAssetsWrite, (*Server).updateDepreciation, qm.DepreciationUpdate{}, qm.Depreciation{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/depreciations/{id}", Tenant, qm.PermAssetsWrite, (*Server).deleteDepreciation, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/catalog", Tenant, qm.PermAssetsRead, (*Server).catalogVocabulary, nil, catalogVocabulary{}, 200},

	{"GET", "/api/v1/t/{tenant}/settings/general", Tenant, "", (*Server).getSettings, nil, qm.GeneralSettings{}, 200},
	{"PUT", "/api/v1/t/{tenant}/settings/general", Tenant, qm.PermSettingsManage, (*Server).setSettings, qm.GeneralSettings{}, qm.GeneralSettings{}, 200},
	{"GET", "/api/v1/t/{tenant}/settings/asset-tags", Tenant, qm.PermAssetsRead, (*Server).getTagNumbering, nil, qm.TagNumbering{}, 200},
	{"PUT", "/api/v1/t/{tenant}/settings/asset-tags", Tenant, qm.PermSettingsManage, (*Server).setTagNumbering, qm.TagNumbering{}, qm.TagNumbering{}, 200},

	{"GET", "/api/v1/t/{tenant}/imports", Tenant, qm.PermAssetsRead, (*Server).listImports, nil, importJobList{}, 200},
	{"POST", "/api/v1/t/{tenant}/imports", Tenant, qm.PermAssetsWrite, (*Server).startImport, csvFile, qm.ImportJob{}, 202},
	{"GET", "/api/v1/t/{tenant}/imports/{id}", Tenant, qm.PermAssetsRead, (*Server).getImport, nil, qm.ImportJob{}, 200},

	{"GET", "/api/v1/t/{tenant}/fields", Tenant, qm.PermAssetsRead, (*Server).listFields, nil, customFieldList{}, 200},
	{"POST", "/api/v1/t/{tenant}/fields", Tenant, qm.PermSettingsManage, (*Server).createField, customFieldRequest{}, qm.CustomField{}, 201},
	{"GET", "/api/v1/t/{tenant}/fields/{id}", Tenant, qm.PermAssetsRead, (*Server).getField, nil, qm.CustomField{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/fields/{id}", Tenant, qm.PermSettingsManage, (*Server).updateField, qm.CustomFieldUpdate{}, qm.CustomField{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/fields/{id}", Tenant, qm.PermSettingsManage, (*Server).deleteField, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/fieldsets", Tenant, qm.PermAssetsRead, (*Server).listFieldSets, nil, fieldSetList{}, 200},
	{"POST", "/api/v1/t/{tenant}/fieldsets", Tenant, qm.PermSettingsManage, (*Server).createFieldSet, fieldSetRequest{}, qm.FieldSet{}, 201},
	{"GET", "/api/v1/t/{tenant}/fieldsets/{id}", Tenant, qm.PermAssetsRead, (*Server).getFieldSet, nil, qm.FieldSet{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/fieldsets/{id}", Tenant, qm.PermSettingsManage, (*Server).updateFieldSet, qm.FieldSetUpdate{}, qm.FieldSet{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/fieldsets/{id}", Tenant, qm.PermSettingsManage, (*Server).deleteFieldSet, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/assets", Tenant, qm.PermAssetsRead, (*Server).listAssets, nil, assetPage{}, 200},
	{"GET", "/api/v1/t/{tenant}/assets/labels", Tenant, qm.PermAssetsRead, (*Server).assetLabels, nil, htmlFile, 200},
	{"GET", "/api/v1/t/{tenant}/assets/{id}/label.svg", Tenant, qm.PermAssetsRead, (*Server).assetLabel, nil, svgFile, 200},
	{"GET", "/api/v1/t/{tenant}/assets/export", Tenant, qm.PermAssetsRead, (*Server).exportAssets, nil, csvFile, 200},
	{"POST", "/api/v1/t/{tenant}/assets/import", Tenant, qm.PermAssetsWrite, (*Server).importAssets, csvFile, qm.ImportReport{}, 200},
	{"POST", "/api/v1/t/{tenant}/assets", Tenant, qm.PermAssetsWrite, (*Server).createAsset, assetRequest{}, qm.Asset{}, 201},
	{"GET", "/api/v1/t/{tenant}/assets/{id}", Tenant, qm.PermAssetsRead, (*Server).getAsset, nil, qm.Asset{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/assets/{id}", Tenant, qm.PermAssetsWrite, (*Server).updateAsset, qm.AssetUpdate{}, qm.Asset{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/assets/{id}", Tenant, qm.PermAssetsWrite, (*Server).deleteAsset, nil, nil, 204},
	{"POST", "/api/v1/t/{tenant}/assets/{id}/checkout", Tenant, qm.PermAssetsWrite, (*Server).checkOutAsset, qm.CheckOut{}, qm.Asset{}, 200},
	{"POST", "/api/v1/t/{tenant}/assets/{id}/checkin", Tenant, qm.PermAssetsWrite, (*Server).checkInAsset, qm.CheckIn{}, qm.Asset{}, 200},
	{"GET", "/api/v1/t/{tenant}/assets/{id}/maintenances", Tenant, qm.PermAssetsRead, (*Server).listMaintenances, nil, maintenanceList{}, 200},
	{"POST", "/api/v1/t/{tenant}/assets/{id}/maintenances", Tenant, qm.PermAssetsWrite, (*Server).addMaintenance, maintenanceRequest{}, qm.Maintenance{}, 201},
	{"PATCH", "/api/v1/t/{tenant}/assets/{id}/maintenances/{record}", Tenant, qm.PermAssetsWrite, (*Server).updateMaintenance, qm.MaintenanceUpdate{}, qm.Maintenance{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/assets/{id}/maintenances/{record}", Tenant, qm.PermAssetsWrite, (*Server).deleteMaintenance, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/assets/{id}/history", Tenant, qm.PermAssetsRead, (*Server).assetHistory, nil, assetHistory{}, 200},

	{"GET", "/api/v1/t/{tenant}/licenses", Tenant, qm.PermAssetsRead, (*Server).listLicenses, nil, licenseList{}, 200},
	{"POST", "/api/v1/t/{tenant}/licenses", Tenant, qm.PermAssetsWrite, (*Server).createLicense, licenseRequest{}, licenseView{}, 201},
	{"GET", "/api/v1/t/{tenant}/licenses/{id}", Tenant, qm.PermAssetsRead, (*Server).getLicense, nil, licenseView{}, 200},
	{"PATCH", "/api/v1/t/{tenant}/licenses/{id}", Tenant, qm.PermAssetsWrite, (*Server).updateLicense, qm.LicenseUpdate{}, licenseView{}, 200},
	{"DELETE", "/api/v1/t/{tenant}/licenses/{id}", Tenant, qm.PermAssetsWrite, (*Server).deleteLicense, nil, nil, 204},
	{"GET", "/api/v1/t/{tenant}/licenses/{id}/seats", Tenant, qm.PermAssetsRead, (*Server).listSeats, nil, seatList{}, 200},
	{"POST", "/api/v1/t/{tenant}/licenses/{id}/seats", Tenant, qm.PermAssetsWrite, (*Server).assignSeat, seatRequest{}, qm.Seat{}, 201},
	{"DELETE", "/api/v1/t/{tenant}/licenses/{id}/seats/{seat}", Tenant, qm.PermAssetsWrite, (*Server).freeSeat, nil, nil, 204},

	{"GET", "/api/v1/t/{tenant}/audit", Tenant, qm.PermAuditRead, (*Server).auditLog, nil, auditPage{}, 200},
}

// bodyLimits are the routes that take more than Config.MaxBody.
var bodyLimits = map[string]int64{
	"POST /api/v1/t/{tenant}/assets/import": 512 << 20,
	"POST /api/v1/t/{tenant}/imports":       8 << 30,
	"POST /api/v1/operator/devices/import":  64 << 20,
	"POST /api/v1/operator/imports":         64 << 30,
	"POST /ingest/v1/points":                16 << 20,
}

// sessionCookie holds a signed-in user's session secret.
const sessionCookie = "qm_session"

// caller is who a request's credentials name.
type caller struct {
	user    *qm.User // a session's user
	session string   // the session's secret
	// For an API token: the tenant it is bound to and the principal it is.
	tokenTenant    *qm.Tenant
	tokenPrincipal *qm.Principal
}

// identify reads the request's credentials: a bearer token, or else the
// session cookie. No credentials is EUnauthorized.
func (s *Server) identify(r *http.Request) (*caller, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, qm.Errorf(qm.EUnauthorized, "use Authorization: Bearer <token>")
		}
		t, p, err := s.cfg.Auth.Token(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		return &caller{tokenTenant: t, tokenPrincipal: p}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, qm.Errorf(qm.EUnauthorized, "sign in or present an API token")
	}
	u, err := s.cfg.Auth.SessionUser(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &caller{user: u, session: c.Value}, nil
}

// route wraps a route's handler with its access check: it identifies the
// caller, checks CSRF for cookie-authenticated changes, scopes the context
// to the tenant and principal, and renders any error.
func (s *Server) route(rt Route) http.HandlerFunc {
	limit := s.cfg.MaxBody
	if l, ok := bodyLimits[rt.Method+" "+rt.Path]; ok {
		limit = l
	}
	query, list, size := allowedQuery(rt), isList(rt), sizeOf(rt)
	return func(w http.ResponseWriter, r *http.Request) {
		// Refuse a body declared too large before reading any of it; cut
		// one that turns out too large while being read.
		if r.ContentLength > limit {
			s.writeError(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := checkQuery(r, query); err != nil {
			s.writeError(w, r, err)
			return
		}
		if list {
			r = r.WithContext(context.WithValue(r.Context(), pageSizeKey{}, size))
		}
		ctx, err := s.scope(r, rt)
		if err == nil {
			err = rt.Handle(s, w, r.WithContext(context.WithValue(ctx, routeKey{}, rt)))
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// fail answers err, unless the response is already under way (a
// download cut short): its status is out, so the client sees the body end
// short, and the log says why: at info when the client went away, as an
// error otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if !started(w) {
		s.writeError(w, r, err)
		return
	}
	if r.Context().Err() != nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		s.cfg.Logger.Info("response cut short: the client went away", "request_id", info(r).id, "path", r.URL.Path, "err", err)
	} else {
		s.cfg.Logger.Error("response cut short", "request_id", info(r).id, "path", r.URL.Path, "err", err)
	}
}

// started reports whether the status of w's response has been written.
func started(w http.ResponseWriter) bool {
	for {
		switch v := w.(type) {
		case *statusWriter:
			return v.status != 0
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return false
		}
	}
}

func (s *Server) scope(r *http.Request, rt Route) (context.Context, error) {
	ctx := tenancy.WithOrigin(r.Context(), tenancy.Origin{RemoteAddr: clientAddr(r), RequestID: info(r).id})
	if rt.Access == Public {
		return ctx, nil
	}
	if rt.Access == Device {
		ctx, err := s.deviceScope(ctx, r)
		if err != nil {
			s.svc.Points.Refused("http", err)
		}
		return ctx, err
	}
	c, err := s.identify(r)
	if err != nil {
		return nil, err
	}
	if c.session != "" && r.Method != http.MethodGet && r.Method != http.MethodHead &&
		r.Header.Get("X-CSRF-Token") != auth.CSRFToken(c.session) {
		return nil, qm.Errorf(qm.EForbidden, "missing or wrong X-CSRF-Token header")
	}
	ctx = context.WithValue(ctx, callerKey{}, c)
	switch rt.Access {
	case Authenticated:
		return ctx, nil
	case Operator:
		if c.user == nil {
			return nil, qm.Errorf(qm.EForbidden, "this needs the operator's session")
		}
		p, err := auth.Operator(c.user)
		if err != nil {
			return nil, err
		}
		info(r).principal = p.Name
		return tenancy.WithPrincipal(ctx, p), nil
	}
	t, p, err := s.tenantOf(r, c)
	if err != nil {
		return nil, err
	}
	info(r).tenant, info(r).principal = t.Slug, p.Name
	switch {
	case t.State == qm.StateSuspended:
		return nil, qm.Errorf(qm.ETenantInert, "tenant %s is suspended; its data is kept, but not served", t.Slug)
	case t.State == qm.StateMoving:
		return nil, qm.Moving(t)
	case t.State != qm.StateActive:
		return nil, errTenantNotFound
	case rt.Permission != "" && !p.Can(rt.Permission):
		return nil, qm.Errorf(qm.EForbidden, "your role %s does not allow %s", p.Role.Name, rt.Permission)
	case p.DepartmentID != "" && rt.Method != http.MethodGet && !rt.Departmental():
		return nil, qm.Errorf(qm.EForbidden, "you work within one department: what the whole tenant shares is changed by a member of the whole tenant")
	}
	if f := rt.Feature(); f != "" {
		if err := t.Limits.Feature(f); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Rates.API(t); err != nil {
		return nil, err
	}
	if err := s.cfg.Usage.Allow(t, qm.APIRequestsPerMonth, 1); err != nil {
		return nil, err
	}
	s.cfg.Usage.Add(t, qm.MeterAPIRequests, 1)
	return tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), p), nil
}

var errTenantNotFound = qm.Errorf(qm.ENotFound, "tenant not found")

// tenantOf returns the tenant the path names and what the caller is there.
// A token's tenant is the only one it reaches; a user reaches the tenants
// it is a member of. Any other tenant does not exist, as far as the caller
// can tell.
func (s *Server) tenantOf(r *http.Request, c *caller) (*qm.Tenant, *qm.Principal, error) {
	slug := r.PathValue("tenant")
	if c.tokenTenant != nil {
		if c.tokenTenant.Slug != slug {
			return nil, nil, errTenantNotFound
		}
		if err := c.tokenTenant.Limits.Feature(qm.FeatureAPITokens); err != nil {
			return nil, nil, err
		}
		return c.tokenTenant, c.tokenPrincipal, nil
	}
	t, err := s.svc.Tenants.Tenant(r.Context(), slug)
	if qm.ErrorCode(err) == qm.ENotFound {
		return nil, nil, errTenantNotFound
	} else if err != nil {
		return nil, nil, err
	}
	p, err := s.cfg.Auth.Member(r.Context(), c.user, t)
	if err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

type callerKey struct{}

// routeKey holds the request's route, for a long-lived handler (an event
// stream) to check the caller's access again as it runs.
type routeKey struct{}

func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(callerKey{}).(*caller)
	return c
}

// clientAddr is the client's IP address, without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// referenceRoutes are the routes of every reference list, the same for
// each: /api/v1/t/{tenant}/categories and so on.
func referenceRoutes() []Route {
	var rs []Route
	for _, list := range qm.ReferenceLists {
		base := "/api/v1/t/{tenant}/" + strings.ReplaceAll(list.Name, "_", "-")
		h := referenceHandlers{list}
		rs = append(rs,
			Route{"GET", base, Tenant, qm.PermAssetsRead, h.index, nil, referenceList{}, 200},
			Route{"POST", base, Tenant, qm.PermAssetsWrite, h.create, referenceRequest{}, qm.Reference{}, 201},
			Route{"GET", base + "/{id}", Tenant, qm.PermAssetsRead, h.get, nil, qm.Reference{}, 200},
			Route{"PATCH", base + "/{id}", Tenant, qm.PermAssetsWrite, h.update, qm.ReferenceUpdate{}, qm.Reference{}, 200},
			Route{"DELETE", base + "/{id}", Tenant, qm.PermAssetsWrite, h.delete, nil, nil, 204},
		)
	}
	return rs
}
