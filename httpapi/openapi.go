package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// OpenAPI returns the OpenAPI 3.1 description of the API, made from the
// route table and the Go types of its bodies.
func OpenAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	errRef := g.schema(reflect.TypeOf(errorBody{}))
	paths := map[string]any{}
	for _, rt := range Routes {
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     rt.Method + " " + rt.Path,
			"security":    security(rt.Access),
			"responses": map[string]any{
				"default": map[string]any{"description": "an error", "content": jsonContent(errRef)},
			},
		}
		if rt.Permission != "" {
			op["description"] = "Needs the permission " + string(rt.Permission) + " in the tenant."
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range queryParams[rt.Method+" "+rt.Path] {
			param := map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}}
			if prefix, ok := strings.CutSuffix(q, "*"); ok {
				param["name"] = prefix + "KEY"
				param["description"] = "any parameter named " + prefix + "KEY, for each KEY"
			}
			params = append(params, param)
		}
		if isList(rt) {
			params = append(params, pageParamDocs(rt)...)
		}
		if params != nil {
			op["parameters"] = params
		}
		switch body := rt.Body.(type) {
		case nil:
		case mediaFile:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				string(body): map[string]any{"schema": map[string]any{"type": "string"}},
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object",
					"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary"}}}},
			}}
		default:
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(g.schema(reflect.TypeOf(rt.Body)))}
		}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		switch reply := rt.Reply.(type) {
		case nil:
		case mediaFile:
			ok["content"] = map[string]any{string(reply): map[string]any{"schema": map[string]any{"type": "string"}}}
		default:
			ok["content"] = jsonContent(g.schema(reflect.TypeOf(rt.Reply)))
		}
		if alsoCSV[rt.Method+" "+rt.Path] {
			ok["content"].(map[string]any)[string(csvFile)] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		op["responses"].(map[string]any)[strconv.Itoa(rt.Status)] = ok
		if ranged[rt.Method+" "+rt.Path] {
			op["responses"].(map[string]any)["206"] = map[string]any{"description": "the ranges the Range header asked for", "content": ok["content"]}
		}
		if body, ok := unprocessable[rt.Method+" "+rt.Path]; ok {
			op["responses"].(map[string]any)["422"] = map[string]any{"description": "an error, with what the caller needs to mend it",
				"content": jsonContent(g.schema(reflect.TypeOf(body)))}
			op["responses"].(map[string]any)["403"] = map[string]any{"description": "a cap of the tenant's plan, or a permission, refused it; " +
				"past a cap, with what the caller needs to mend it", "content": jsonContent(g.schema(reflect.TypeOf(body)))}
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Quartermaster API",
			"version": "1",
			"description": "Multi-tenant IT asset and connected-fleet management. A session user names the tenant in the path; " +
				"an API token implies its tenant. A tenant the caller does not belong to answers 404. " +
				"Cookie-authenticated changes need the X-CSRF-Token header. " +
				"Every error has one shape (errorBody). A query parameter a route does not take, a query string that " +
				"cannot be read, and NUL or invalid UTF-8 in the query or path are 400; in a JSON body, 422 naming the field. " +
				"Every list pages alike: ?limit= (a default, and a maximum larger values are cut to) and ?after= " +
				"(the previous page's next); the reply holds the items, the total, and next while more follow.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie},
				"token":   map[string]any{"type": "http", "scheme": "bearer"},
				"device":  map[string]any{"type": "http", "scheme": "bearer", "description": "a device's credential (qmd_…)"},
			},
		},
	}
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// unprocessable are the routes whose 422 (and 403 past a cap) carry more
// than the error.
var unprocessable = map[string]any{"POST /api/v1/t/{tenant}/assets/import": importStopped{}}

// alsoCSV are the routes that answer CSV instead of JSON when asked
// (format=csv).
var alsoCSV = map[string]bool{"GET /api/v1/operator/usage": true}

// ranged are the routes that answer a Range request with 206.
var ranged = map[string]bool{"GET /api/v1/map/tiles.pmtiles": true, "GET /api/v1/operator/exports/{id}/archive": true}

// queryParams lists the query parameters routes read.
var queryParams = map[string][]string{
	"GET /api/v1/t/{tenant}/locations":                   {"parent_id"},
	"GET /api/v1/t/{tenant}/audit":                       {"action", "resource_type", "resource_id", "actor_id", "since", "until"},
	"GET /api/v1/t/{tenant}/assets":                      assetFilterParams,
	"GET /api/v1/t/{tenant}/licenses":                    {"expiring_before"},
	"GET /api/v1/t/{tenant}/people":                      {"q"},
	"GET /api/v1/t/{tenant}/assets/labels":               {"ids"},
	"POST /api/v1/t/{tenant}/assets/import":              importParams,
	"POST /api/v1/t/{tenant}/imports":                    importParams,
	"GET /api/v1/operator/devices":                       {"tenant", "unassigned"},
	"GET /api/v1/operator/exports":                       {"tenant"},
	"GET /api/v1/operator/moves":                         {"tenant"},
	"GET /api/v1/operator/audit":                         {"tenant", "action"},
	"POST /api/v1/operator/imports":                      tenantImportParams,
	"GET /api/v1/t/{tenant}/devices":                     {"health", "q"},
	"GET /api/v1/t/{tenant}/devices/{device}/points":     {"from", "to"},
	"GET /api/v1/t/{tenant}/devices/{device}/trips":      {"from", "to"},
	"GET /api/v1/t/{tenant}/devices/{device}/aggregates": {"metric", "bucket", "from", "to"},
	"GET /api/v1/t/{tenant}/assets/export":               assetFilterParams,
	"GET /api/v1/t/{tenant}/usage":                       {"from", "to"},
	"GET /api/v1/operator/usage":                         {"month", "format"},
	"GET /api/v1/t/{tenant}/alarms":                      {"open", "severity", "subject_id"},
}

// operationID names an operation after its method and path, which are
// unique together: "get_t_tenant_locations_id".
func operationID(rt Route) string {
	p := strings.TrimPrefix(rt.Path, "/api/v1/")
	return strings.ToLower(rt.Method) + "_" + strings.Trim(nonWord.ReplaceAllString(p, "_"), "_")
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func security(a Access) []any {
	switch a {
	case Public:
		return []any{}
	case Operator:
		return []any{map[string]any{"session": []any{}}}
	case Device:
		return []any{map[string]any{"device": []any{}}}
	}
	return []any{map[string]any{"session": []any{}}, map[string]any{"token": []any{}}}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// schemaGen makes JSON Schemas of Go types, as encoding/json writes them.
// Named structs become components.
type schemaGen struct {
	components map[string]any
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	metricType    = reflect.TypeOf(qm.Metric{})
	limitSetType  = reflect.TypeOf(qm.LimitSet{})
	effectiveType = reflect.TypeOf(qm.Effective{})
	shapeType     = reflect.TypeOf(qm.Shape{})
)

// shapeSchema describes a geofence's shape as qm.Shape reads and writes
// it: a GeoJSON Feature (RFC 7946) whose geometry is a Point with the
// property radius_m (a circle), a Polygon or a MultiPolygon.
func shapeSchema() map[string]any {
	geometry := map[string]any{"type": "object", "required": []any{"type", "coordinates"}, "additionalProperties": false,
		"properties": map[string]any{
			"type":        map[string]any{"type": "string", "enum": []any{"Point", "Polygon", "MultiPolygon"}},
			"coordinates": map[string]any{"type": "array", "description": "[longitude, latitude] for a Point; rings of them for a Polygon; polygons of rings for a MultiPolygon"},
		}}
	props := map[string]any{"type": "object", "additionalProperties": false,
		"properties": map[string]any{"radius_m": map[string]any{"type": "number", "description": "a circle's radius in metres"}}}
	return map[string]any{"type": "object", "required": []any{"type", "geometry"}, "additionalProperties": false,
		"description": "a GeoJSON Feature: a Point geometry with properties.radius_m is a circle; a Polygon or MultiPolygon is itself",
		"properties": map[string]any{
			"type":       map[string]any{"type": "string", "enum": []any{"Feature"}},
			"geometry":   geometry,
			"properties": map[string]any{"anyOf": []any{props, map[string]any{"type": "null"}}},
		}}
}

// limitsSchema describes limits as qm.LimitSet and qm.Effective write
// them: a number by limit key, and the features on; all of them when
// every limit is there (Effective), any of them otherwise.
func limitsSchema(all bool) map[string]any {
	props := map[string]any{qm.FeaturesKey: map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}
	required := []any{}
	for _, d := range qm.Limits {
		props[string(d.Key)] = map[string]any{"type": "number", "minimum": 0}
		if all {
			required = append(required, string(d.Key))
		}
	}
	if all {
		required = append(required, qm.FeaturesKey)
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == metricType: // a bare number, boolean or string
		return map[string]any{"type": []any{"number", "boolean", "string"}}
	case t == limitSetType, t == effectiveType:
		return limitsSchema(t == effectiveType)
	case t == shapeType:
		return shapeSchema()
	case t.Kind() == reflect.Pointer:
		return map[string]any{"anyOf": []any{g.schema(t.Elem()), map[string]any{"type": "null"}}}
	case t.Kind() == reflect.Struct && t.Name() == "": // anonymous: inline
		return g.object(t)
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, ok := g.components[name]; !ok {
			g.components[name] = map[string]any{} // stops recursion
			g.components[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": []any{"array", "null"}, "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	}
	panic("openapi: no schema for " + t.String())
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []any{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
			continue // encoding/json lifts even an unexported struct's fields
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			// encoding/json lifts an embedded struct's fields, its type
			// exported or not.
			t := f.Type
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			inner := g.object(t)
			for k, v := range inner["properties"].(map[string]any) {
				props[k] = v
			}
			required = append(required, inner["required"].([]any)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// openapi serves the description.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	return reply(w, http.StatusOK, s.openAPI, nil)
}
