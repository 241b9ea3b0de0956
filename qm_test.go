package qm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestValidateSlug(t *testing.T) {
	for _, tc := range []struct {
		slug string
		ok   bool
	}{
		{"acme", true},
		{"a1-b2", true},
		{"abc", true},
		{strings.Repeat("a", 63), true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"Acme", false},
		{"-acme", false},
		{"acme-", false},
		{"ac me", false},
		{"acme_corp", false},
		{"acmé", false},
		{"", false},
	} {
		t.Run(tc.slug, func(t *testing.T) {
			err := qm.ValidateSlug(tc.slug)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && qm.ErrorCode(err) != qm.EInvalid {
				t.Fatalf("got code %q, want %q", qm.ErrorCode(err), qm.EInvalid)
			}
		})
	}
}

// FuzzValidateSlug checks that every accepted slug is safe to use as part of
// a file, schema or database name and in a URL path.
func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme", "a-b", "A", "../etc", "x\x00y", "t_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if qm.ValidateSlug(s) != nil {
			return
		}
		if len(s) < 3 || len(s) > 63 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || s[0] == '-' || s[len(s)-1] == '-' {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestNewTenantValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      qm.NewTenant
		fields []string
	}{
		{"OK", qm.NewTenant{Slug: "acme", Name: "Acme", Tier: qm.TierPool}, nil},
		{"OKSiloServer", qm.NewTenant{Slug: "acme", Name: "Acme", Tier: qm.TierSilo, Server: "eu"}, nil},
		{"ErrEverything", qm.NewTenant{Slug: "A", Tier: "gold"}, []string{"slug", "name", "tier"}},
		{"ErrServerNotSilo", qm.NewTenant{Slug: "acme", Name: "Acme", Tier: qm.TierPool, Server: "eu"}, []string{"server"}},
		{"ErrLongName", qm.NewTenant{Slug: "acme", Name: strings.Repeat("x", 201), Tier: qm.TierPool}, []string{"name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.n.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			e, ok := err.(*qm.Error)
			if !ok || e.Code != qm.EInvalid || len(e.Fields) != len(tc.fields) {
				t.Fatalf("got %#v, want EInvalid on %v", err, tc.fields)
			}
			for _, f := range tc.fields {
				if e.Fields[f] == "" {
					t.Errorf("no message for field %s in %v", f, e.Fields)
				}
			}
		})
	}
}

func TestLocationValidate(t *testing.T) {
	l := &qm.Location{ID: "x", Name: "  Depot ", ParentID: " x ", Notes: strings.Repeat("n", 10001)}
	l.Normalize()
	if l.Name != "Depot" || l.ParentID != "x" {
		t.Fatalf("normalize: got %+v", l)
	}
	e, ok := l.Validate().(*qm.Error)
	if !ok || e.Fields["parent_id"] == "" || e.Fields["notes"] == "" || e.Fields["name"] != "" {
		t.Fatalf("got %#v, want parent_id and notes errors only", e)
	}
}

func TestErrorHelpers(t *testing.T) {
	if got := qm.ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q", got)
	}
	plain := errors.New("pq: secret detail") // any non-application error
	if got := qm.ErrorCode(plain); got != qm.EInternal {
		t.Errorf("ErrorCode(plain) = %q, want %q", got, qm.EInternal)
	}
	if got := qm.ErrorMessage(plain); got != "internal error" {
		t.Errorf("ErrorMessage(plain) = %q: internal text must not be shown", got)
	}
	if _, err := qm.ParseTier("gold"); qm.ErrorCode(err) != qm.EInvalid {
		t.Errorf("ParseTier(gold): got %v", err)
	}
}
