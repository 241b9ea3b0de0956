package dataplane

import (
	"context"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// holding is what a check-out or check-in changes, for the audit log.
type holding struct {
	HolderType     string `json:"holder_type"`
	HolderID       string `json:"holder_id"`
	ExpectedReturn string `json:"expected_return"`
	LocationID     string `json:"location_id"`
	Note           string `json:"note,omitempty"`
}

func holdingOf(a *qm.Asset, note string) holding {
	return holding{HolderType: a.HolderType, HolderID: a.HolderID, ExpectedReturn: a.ExpectedReturn, LocationID: a.LocationID, Note: note}
}

// CheckOut implements qm.AssetService.
func (s *AssetStore) CheckOut(ctx context.Context, id string, co qm.CheckOut) (*qm.Asset, error) {
	if err := co.Validate(); err != nil {
		return nil, err
	}
	var a *qm.Asset
	err := s.router.Update(ctx, func(c sqlstore.Conn) (err error) {
		if a, err = s.checkOut(ctx, c, id, co); err != nil {
			return err
		}
		return s.derive(ctx, c, a)
	})
	return a, err
}

// checkOut checks out an asset within c's transaction, and audits it. It
// refuses with application errors only, before writing anything, so a
// caller may skip one refused asset and carry on in the same transaction.
func (s *AssetStore) checkOut(ctx context.Context, c sqlstore.Conn, id string, co qm.CheckOut) (*qm.Asset, error) {
	before, err := FindAsset(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if before.HolderType != "" {
		return nil, qm.Errorf(qm.EConflict, "asset %s is already checked out: check it in first", before.Tag)
	}
	var kind string
	if err := c.QueryRow(ctx, `SELECT kind FROM status_labels WHERE tenant_id = $1 AND id = $2`, c.TenantID(), before.StatusID).Scan(&kind); err != nil {
		return nil, err
	}
	if kind != qm.StatusDeployable {
		return nil, qm.Errorf(qm.EConflict, "asset %s cannot be checked out: its status is %s, not deployable", before.Tag, kind)
	}
	if err := s.checkHolder(ctx, c, before, co); err != nil {
		return nil, err
	}
	after := *before
	a := &after
	now := sqlstore.Timestamp(s.now())
	a.HolderType, a.HolderID, a.ExpectedReturn, a.CheckedOutAt, a.UpdatedAt = co.HolderType, co.HolderID, co.ExpectedReturn, &now, now
	if co.HolderType == qm.HolderLocation {
		a.LocationID = co.HolderID
	}
	if err := s.setHolding(ctx, c, a); err != nil {
		return nil, err
	}
	return a, sqlstore.Audit(ctx, c, now, "asset.checkout", "asset", a.ID, holdingOf(before, ""), holdingOf(a, co.Note))
}

// checkHolder checks that the holder exists in the tenant: a member, one of
// its locations, or another of its assets that a may be checked out to.
func (s *AssetStore) checkHolder(ctx context.Context, c sqlstore.Conn, a *qm.Asset, co qm.CheckOut) error {
	bad := &qm.Error{Code: qm.EInvalid, Message: "unknown " + co.HolderType + " to check out to", Fields: map[string]string{"holder_id": "no such " + co.HolderType}}
	switch co.HolderType {
	case qm.HolderUser:
		if _, err := s.identity.Membership(ctx, c.TenantID(), co.HolderID); qm.ErrorCode(err) == qm.ENotFound {
			return bad
		} else if err != nil {
			return err
		}
	case qm.HolderLocation:
		if err := RefExists(ctx, c, "locations", "holder_id", "location", co.HolderID, true); err != nil {
			return bad
		}
	case qm.HolderAsset:
		if err := holderAsset(ctx, c, a.ID, co.HolderID); qm.ErrorCode(err) == qm.ENotFound {
			return bad
		} else if err != nil {
			return err
		}
	}
	return nil
}

// errHoldingLoop refuses a check-out that would make an asset hold itself.
var errHoldingLoop = &qm.Error{Code: qm.EInvalid, Message: "an asset cannot hold itself, nor an asset it holds",
	Fields: map[string]string{"holder_id": "would make a loop"}}

// holderAsset is the one rule for checking asset id (empty for an asset
// not yet made) out to asset holderID, for every path that does: the holder
// is an asset the principal may see (ENotFound otherwise, as for an asset
// that does not exist), and is neither the asset itself nor one it holds,
// however far down a chain of holders.
func holderAsset(ctx context.Context, c sqlstore.Conn, id, holderID string) error {
	if _, err := FindAsset(ctx, c, holderID); err != nil {
		return err
	}
	if id == "" {
		return nil
	}
	// Up the chain from the holder: what holds it, what holds that, …
	// Chains are short (a dock in a laptop bag); the bound only guards
	// against data that already holds a loop.
	for at, hops := holderID, 0; ; hops++ {
		if at == id {
			return errHoldingLoop
		}
		if hops == maxHoldingChain {
			return qm.Errorf(qm.EInvalid, "asset %s is at the end of a chain of more than %d assets holding each other", holderID, maxHoldingChain)
		}
		var kind, next string
		err := c.QueryRow(ctx, `SELECT holder_type, holder_id FROM assets WHERE tenant_id = $1 AND id = $2`, c.TenantID(), at).Scan(&kind, &next)
		if err != nil {
			return fmt.Errorf("holder of asset %s: %w", at, err)
		}
		if kind != qm.HolderAsset {
			return nil
		}
		at = next
	}
}

// maxHoldingChain bounds how many assets may hold each other in a row.
const maxHoldingChain = 100

func (s *AssetStore) setHolding(ctx context.Context, c sqlstore.Conn, a *qm.Asset) error {
	var out any
	if a.CheckedOutAt != nil {
		out = *a.CheckedOutAt
	}
	_, err := c.Exec(ctx, `UPDATE assets SET holder_type = $3, holder_id = $4, checked_out_at = $5, expected_return = $6,
		location_id = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2`,
		c.TenantID(), a.ID, a.HolderType, a.HolderID, out, sqlstore.Nullable(a.ExpectedReturn), sqlstore.Nullable(a.LocationID), a.UpdatedAt)
	return err
}

// CheckIn implements qm.AssetService.
func (s *AssetStore) CheckIn(ctx context.Context, id string, ci qm.CheckIn) (*qm.Asset, error) {
	var a *qm.Asset
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := FindAsset(ctx, c, id)
		if err != nil {
			return err
		}
		if before.HolderType == "" {
			return qm.Errorf(qm.EConflict, "asset %s is not checked out", before.Tag)
		}
		if err := RefExists(ctx, c, "locations", "location_id", "location", ci.LocationID, false); err != nil {
			return err
		}
		after := *before
		a = &after
		now := sqlstore.Timestamp(s.now())
		a.HolderType, a.HolderID, a.ExpectedReturn, a.CheckedOutAt, a.UpdatedAt = "", "", "", nil, now
		if ci.LocationID != "" {
			a.LocationID = ci.LocationID
		}
		if err := s.setHolding(ctx, c, a); err != nil {
			return err
		}
		if err := sqlstore.Audit(ctx, c, now, "asset.checkin", "asset", a.ID, holdingOf(before, ""), holdingOf(a, ci.Note)); err != nil {
			return err
		}
		return s.derive(ctx, c, a)
	})
	return a, err
}

// History implements qm.AssetService: the asset's entries of the audit
// log, for anyone who may see the asset.
func (s *AssetStore) History(ctx context.Context, id string) ([]*qm.AuditEntry, error) {
	if _, err := s.Asset(ctx, id); err != nil {
		return nil, err
	}
	return NewAuditStore(s.router).AuditLog(ctx, qm.AuditFilter{ResourceType: "asset", ResourceID: id, Limit: 500})
}
