package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// statuses maps application error codes to HTTP statuses, in one place.
var statuses = map[string]int{
	qm.EBadRequest:       http.StatusBadRequest,
	qm.EUnauthorized:     http.StatusUnauthorized,
	qm.EForbidden:        http.StatusForbidden,
	qm.ETenantInert:      http.StatusForbidden,
	qm.ENotFound:         http.StatusNotFound,
	qm.EConflict:         http.StatusConflict,
	qm.ETooLarge:         http.StatusRequestEntityTooLarge,
	qm.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	qm.EInvalid:          http.StatusUnprocessableEntity,
	qm.ERateLimited:      http.StatusTooManyRequests,
	qm.ELimitReached:     http.StatusForbidden,
	qm.EFeatureDisabled:  http.StatusForbidden,
	qm.ETenantNewer:      http.StatusServiceUnavailable,
	eMethodNotAllowed:    http.StatusMethodNotAllowed,
	qm.EUnavailable:      http.StatusServiceUnavailable,
}

// An HTTP matter, so not a domain code: a method a path does not take.
const eMethodNotAllowed = "method_not_allowed"

var errTooLarge = qm.Errorf(qm.ETooLarge, "the request body is too large")

// errorBody is the one shape of every error response.
type errorBody struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		Fields    map[string]string `json:"fields,omitempty"`
		Limit     *qm.LimitReached  `json:"limit,omitempty"`
		RequestID string            `json:"request_id"`
	} `json:"error"`
}

// writeError answers with err. Application errors show their code and safe
// message; anything else is logged with its detail and shown only as an
// internal error with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var body errorBody
	body.Error.Code, body.Error.Message = qm.ErrorCode(err), qm.ErrorMessage(err)
	body.Error.RequestID = info(r).id
	var e *qm.Error
	if errors.As(err, &e) {
		body.Error.Fields, body.Error.Limit = e.Fields, e.Limit
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfter(e.RetryAfter))
		}
	}
	status, ok := statuses[body.Error.Code]
	if !ok {
		status = http.StatusInternalServerError
		body.Error.Code, body.Error.Message = qm.EInternal, "internal error"
		s.cfg.Logger.Error("internal error", "request_id", body.Error.RequestID, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, body)
}

// retryAfter is d in whole seconds, rounded up, as Retry-After gives it.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v. Unknown fields are refused, so a
// body cannot slip in a field such as tenant_id that the API does not take;
// so is text that no engine may store (checkJSONText).
func decode(r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return qm.Errorf(qm.EUnsupportedMedia, "send the body as application/json")
	}
	raw, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	} else if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// A value that reads itself (a geofence's shape) says what is
		// wrong with it in the domain's words.
		if invalid := (*qm.Error)(nil); errors.As(err, &invalid) {
			return invalid
		}
		return qm.Errorf(qm.EBadRequest, "the body is not valid JSON for this request: %s", jsonProblem(err))
	}
	if dec.More() {
		return qm.Errorf(qm.EBadRequest, "the body holds more than one JSON value")
	}
	return checkJSONText(raw)
}

// jsonProblem says what is wrong with a body in the API's words, not Go's.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return "the body must be " + jsonKind(typ.Type)
	case errors.As(err, &typ) && strings.HasPrefix(typ.Value, "number") && jsonKind(typ.Type) == "a whole number":
		return fmt.Sprintf("field %q must be a whole number, and %s is out of range", typ.Field, typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, jsonKind(typ.Type))
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the JSON value a Go type is read from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return "a JSON value"
}

// reply writes v with status, unless err: then it returns err for the route
// to render.
func reply[T any](w http.ResponseWriter, status int, v T, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// noContent answers 204, unless err.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
