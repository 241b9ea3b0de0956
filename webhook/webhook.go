// Package webhook delivers events to tenants' HTTP endpoints: it signs each
// body, refuses endpoints inside the operator's network, POSTs, and says when
// to try again and when to give up. It keeps no state: the outbox, the
// delivery log and the dispatcher that drives them live elsewhere.
//
// # The request
//
// Every delivery is a POST of a JSON body with these headers:
//
//	Content-Type: application/json
//	User-Agent: Quartermaster-Webhook/1 (or the operator's choice)
//	X-Quartermaster-Event: <event id>
//	X-Quartermaster-Timestamp: <unix seconds>
//	X-Quartermaster-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// The event id is the same on every attempt at one event, so a receiver that
// remembers the ids it has handled can ignore a repeat: delivery is at least
// once, and a retry may follow a success whose answer was lost.
//
// # Verifying the signature
//
// The v1 value is the lowercase hex HMAC-SHA256, keyed with the endpoint's
// secret (shown to the tenant once, when the endpoint is made), of the ASCII
// decimal timestamp, a full stop, and the body exactly as received:
//
//	v1 = hex(HMAC-SHA256(secret, "<t>" + "." + body))
//
// A receiver computes that over the raw body before parsing it, compares it
// in constant time with each v1 in the header (there are several while a
// secret is being rotated: one per secret in force) and refuses the request
// when none matches or when t is more than a few minutes from its own clock,
// so a recorded request cannot be replayed later. Verify does all of that,
// for Go receivers and for this package's tests. Keys other than t and v1 are
// ignored, so a later scheme can be added beside v1.
//
// # Where a webhook may go
//
// A tenant names the URL, and the server makes the request from inside the
// operator's network, so without a fence a tenant could send requests to the
// cloud metadata service, a database or an admin page on localhost, and map
// the network from what the delivery log says of each answer (a status, a
// latency, an error). The fence has two parts:
//
//   - CheckURL, when an endpoint is saved, before every delivery and on
//     every redirect: http or https, a host, no credentials, and no literal
//     address that CheckAddr refuses.
//   - The dial guard, on every connection the Client opens: the address the
//     connection is about to reach, after DNS resolution, must pass
//     CheckAddr. This is the part that cannot be talked round: a name that
//     resolves to 127.0.0.1, a name whose answer changes between the check
//     and the request (DNS rebinding), and a redirect to such a name all end
//     here. The Client uses no proxy, so the address judged is the
//     receiver's own.
//
// A delivery follows at most 3 redirects, each checked again by CheckURL,
// never from https to http, and each dialled through the guard.
//
// The operator's --webhook-allow-private (Options.AllowPrivate, and the
// allowPrivate of CheckURL) turns the address checks off, for a server whose
// tenants are trusted and whose receivers sit on a private network, and for
// tests on loopback; the rest of CheckURL still applies.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery; the package comment says what each holds.
const (
	// HeaderEvent carries the event id, the same on every attempt.
	HeaderEvent = "X-Quartermaster-Event"
	// HeaderTimestamp carries the time of signing in unix seconds, the t
	// of the signature, for receivers that log it.
	HeaderTimestamp = "X-Quartermaster-Timestamp"
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	HeaderSignature = "X-Quartermaster-Signature"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance: long enough for clock
// skew and a slow network, short enough that a captured request soon
// becomes useless.
const DefaultTolerance = 5 * time.Minute

// Errors from Verify.
var (
	// ErrMalformedSignature is returned for a header that is not of the
	// form t=<unix seconds>,v1=<hex>[,v1=<hex>…].
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	// ErrStaleSignature is returned when the header's timestamp is further
	// from now than the tolerance, in either direction.
	ErrStaleSignature = errors.New("webhook: signature timestamp outside tolerance")
	// ErrBadSignature is returned when no v1 value matches the body and
	// secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Bounds on the header Verify parses, so that a hostile sender cannot make a
// receiver do unbounded work.
const (
	maxHeaderLen  = 4096
	maxSignatures = 8
)

// Sign returns the X-Quartermaster-Signature value for body sent at time at:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<unix seconds>.<body>">".
func Sign(secret []byte, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks an X-Quartermaster-Signature header against body and secret.
// It returns nil when some v1 value matches, ErrMalformedSignature when the
// header cannot be read, ErrStaleSignature when its timestamp is more than
// tolerance from now (DefaultTolerance when tolerance is zero or less), and
// ErrBadSignature when no v1 value matches. The comparison takes the same
// time wherever the first differing byte is.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	t, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds, the header's unit, so that no timestamp however
	// large can overflow a time.Duration.
	if diff := now.Unix() - t; diff > int64(tolerance/time.Second) || -diff > int64(tolerance/time.Second) {
		return ErrStaleSignature
	}
	want := mac(secret, strconv.FormatInt(t, 10), body)
	ok := false
	for _, s := range sigs {
		// Look at every value, not just up to the first match, so the time
		// taken does not say which one matched.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// parseSignature reads "t=<seconds>,v1=<hex>[,v1=<hex>…]" in any order,
// skipping keys it does not know. It wants exactly one t and at least one v1.
func parseSignature(header string) (t int64, sigs [][]byte, err error) {
	if len(header) > maxHeaderLen {
		return 0, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedSignature, maxHeaderLen)
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: %q is not key=value", ErrMalformedSignature, part)
		}
		switch key {
		case "t":
			if seenT {
				return 0, nil, fmt.Errorf("%w: more than one t", ErrMalformedSignature)
			}
			seenT = true
			t, err = parseSeconds(value)
			if err != nil {
				return 0, nil, err
			}
		case "v1":
			if len(sigs) == maxSignatures {
				return 0, nil, fmt.Errorf("%w: more than %d v1 values", ErrMalformedSignature, maxSignatures)
			}
			s, err := hex.DecodeString(value)
			if err != nil || len(s) != sha256.Size {
				return 0, nil, fmt.Errorf("%w: v1 is not %d hex digits", ErrMalformedSignature, 2*sha256.Size)
			}
			sigs = append(sigs, s)
		}
	}
	if !seenT {
		return 0, nil, fmt.Errorf("%w: no t", ErrMalformedSignature)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no v1", ErrMalformedSignature)
	}
	return t, sigs, nil
}

// parseSeconds accepts only what Sign writes: decimal digits, no sign, no
// leading zeros, so that one timestamp has one spelling and the signed text
// is the text in the header.
func parseSeconds(s string) (int64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: t is not unix seconds", ErrMalformedSignature)
	}
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: t is out of range", ErrMalformedSignature)
	}
	return t, nil
}
