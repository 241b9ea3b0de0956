package tenancy_test

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

func TestScope(t *testing.T) {
	a, b := &qm.Tenant{ID: "a"}, &qm.Tenant{ID: "b"}
	t.Run("ErrNoTenant", func(t *testing.T) {
		if _, err := tenancy.FromContext(context.Background()); err != tenancy.ErrNoTenant {
			t.Fatalf("got %v, want ErrNoTenant", err)
		}
		if qm.ErrorCode(tenancy.ErrNoTenant) != qm.ENoTenant {
			t.Fatal("ErrNoTenant has the wrong code")
		}
	})
	t.Run("OK", func(t *testing.T) {
		got, err := tenancy.FromContext(tenancy.WithTenant(context.Background(), a))
		if err != nil || got != a {
			t.Fatalf("got %v, %v; want tenant a", got, err)
		}
	})
	t.Run("SameTenantAgain", func(t *testing.T) {
		ctx := tenancy.WithTenant(tenancy.WithTenant(context.Background(), a), a)
		if got, _ := tenancy.FromContext(ctx); got != a {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("RescopePanics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("re-scoping to another tenant did not panic")
			}
		}()
		tenancy.WithTenant(tenancy.WithTenant(context.Background(), a), b)
	})
}
