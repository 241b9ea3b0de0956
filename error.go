package qm

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. The HTTP edge maps each to one status, in one
// place.
const (
	EConflict         = "conflict"               // the change clashes with existing data
	EInternal         = "internal"               // a fault of ours; detail is logged, not shown
	EInvalid          = "validation_failed"      // the input is wrong
	EBadRequest       = "bad_request"            // the request cannot be read: malformed JSON, a bad parameter
	ENotFound         = "not_found"              // no such resource in the caller's tenant
	ENoTenant         = "no_tenant"              // tenant data reached without a tenant scope
	ETenantNewer      = "tenant_too_new"         // tenant data is at a schema version this build does not know
	ETenantInert      = "tenant_inactive"        // the tenant is not active
	EUnavailable      = "unavailable"            // briefly not served (a tenant moving); try again after RetryAfter
	EUnauthorized     = "unauthenticated"        // no valid credentials
	EForbidden        = "forbidden"              // the principal lacks the permission
	ERateLimited      = "rate_limited"           // too many requests or attempts; try later
	ELimitReached     = "limit_reached"          // the tenant's plan allows no more of it
	EFeatureDisabled  = "feature_disabled"       // the tenant's plan does not include it
	ETooLarge         = "too_large"              // the request body is too large
	EUnsupportedMedia = "unsupported_media_type" // the request body is not JSON
)

// Error is the application error: a code, and a message that is safe to show
// to whoever made the request. Fields, when set, hold a message per input
// field.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// Limit, for ELimitReached and EFeatureDisabled, names what refused.
	Limit *LimitReached
	// RetryAfter, for ERateLimited, is when trying again may succeed.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EInternal
	}
}

// ErrorMessage returns the safe-to-show message of the first *Error in err's
// chain, and "internal error" for any other error.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}

// fieldsError turns per-field messages into one EInvalid error, or nil.
func fieldsError(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	msg := "invalid input"
	if len(fields) == 1 {
		for _, m := range fields {
			msg = m
		}
	}
	return &Error{Code: EInvalid, Message: msg, Fields: fields}
}
