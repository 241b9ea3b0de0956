package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzSecret and fuzzNow are what the seeds in testdata/fuzz/FuzzVerify were
// signed with.
var (
	fuzzSecret = []byte("whsec_fuzz")
	fuzzNow    = time.Unix(1700000000, 0)
)

func TestSign(t *testing.T) {
	// Worked out by hand: HMAC-SHA256("whsec_fuzz", `1700000000.{"id":"evt_1"}`).
	got := Sign(fuzzSecret, fuzzNow, []byte(`{"id":"evt_1"}`))
	want := "t=1700000000,v1=883de6655c4e4abde2e427f895030ce3f16f1535a06fa064970a8e6121a5b0ea"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("whsec_current")
	old := []byte("whsec_previous")
	body := []byte(`{"event":"alarm.raised","id":"evt_1"}`)
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	signed := Sign(secret, at, body)
	v1 := func(s []byte) string { return strings.SplitN(Sign(s, at, body), ",", 2)[1] }
	ts := "t=" + strconv.FormatInt(at.Unix(), 10)

	for _, tc := range []struct {
		name      string
		secret    []byte
		header    string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "OK", secret: secret, header: signed, body: body, now: at},
		{name: "OKWithinTolerance", secret: secret, header: signed, body: body, now: at.Add(299 * time.Second)},
		{name: "OKClockBehind", secret: secret, header: signed, body: body, now: at.Add(-299 * time.Second)},
		{name: "OKRotatedOldFirst", secret: secret, header: ts + "," + v1(old) + "," + v1(secret), body: body, now: at},
		{name: "OKRotatedReceiverOld", secret: old, header: ts + "," + v1(secret) + "," + v1(old), body: body, now: at},
		{name: "OKKeysInAnyOrder", secret: secret, header: v1(secret) + ",v2=future," + ts, body: body, now: at},
		{name: "OKOwnTolerance", secret: secret, header: signed, body: body, now: at.Add(time.Hour), tolerance: 2 * time.Hour},
		{name: "ErrTamperedBody", secret: secret, header: signed, body: []byte(`{"event":"alarm.raised","id":"evt_2"}`), now: at, want: ErrBadSignature},
		{name: "ErrWrongSecret", secret: []byte("whsec_guess"), header: signed, body: body, now: at, want: ErrBadSignature},
		{name: "ErrTimestampChanged", secret: secret, header: "t=" + strconv.FormatInt(at.Unix()+1, 10) + "," + v1(secret), body: body, now: at, want: ErrBadSignature},
		{name: "ErrStale", secret: secret, header: signed, body: body, now: at.Add(301 * time.Second), want: ErrStaleSignature},
		{name: "ErrFromTheFuture", secret: secret, header: signed, body: body, now: at.Add(-301 * time.Second), want: ErrStaleSignature},
		{name: "ErrHugeTimestamp", secret: secret, header: "t=9223372036854775807," + v1(secret), body: body, now: at, want: ErrStaleSignature},
		{name: "ErrEmpty", secret: secret, header: "", body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrNoTimestamp", secret: secret, header: v1(secret), body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrNoV1", secret: secret, header: ts, body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrTwoTimestamps", secret: secret, header: ts + "," + signed, body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrSignedTimestamp", secret: secret, header: "t=+" + signed[2:], body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrShortV1", secret: secret, header: ts + ",v1=abcd", body: body, now: at, want: ErrMalformedSignature},
		{name: "ErrTooManyV1", secret: secret, header: ts + strings.Repeat(","+v1(old), maxSignatures) + "," + v1(secret), body: body, now: at, want: ErrMalformedSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now, tc.tolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzVerify feeds Verify headers and bodies; the seeds in
// testdata/fuzz/FuzzVerify were signed with fuzzSecret at fuzzNow. Verify
// must not panic, must fail only with its own errors, and must accept only a
// header carrying the true HMAC of its timestamp and the body.
func FuzzVerify(f *testing.F) {
	f.Add(Sign(fuzzSecret, fuzzNow, []byte(`{}`)), []byte(`{}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(fuzzSecret, header, body, fuzzNow, time.Minute)
		switch {
		case err == nil:
			if !carriesTrueMAC(header, body) {
				t.Fatalf("accepted %q for body %q", header, body)
			}
		case !errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrStaleSignature) && !errors.Is(err, ErrBadSignature):
			t.Fatalf("got %v, want one of Verify's errors", err)
		}
		if err := Verify(fuzzSecret, Sign(fuzzSecret, fuzzNow, body), body, fuzzNow, time.Minute); err != nil {
			t.Fatalf("own signature of %q: got %v, want nil", body, err)
		}
	})
}

// carriesTrueMAC is Verify's acceptance worked out another way: some v1 in
// the header is the HMAC of the header's t, a dot and the body.
func carriesTrueMAC(header string, body []byte) bool {
	var t string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	h := hmac.New(sha256.New, fuzzSecret)
	h.Write([]byte(t + "." + string(body)))
	want := hex.EncodeToString(h.Sum(nil))
	for _, s := range sigs {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}
