package dataplane

import (
	"context"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// checkParent makes sure a resource's new parent exists in the tenant and is
// neither the resource itself nor one of its descendants. table (a constant
// of the caller's) holds the tree in id and parent_id; noun names its rows
// in messages. The composite foreign key is the backstop; this gives the
// clear message.
func checkParent(ctx context.Context, c sqlstore.Conn, table, noun, id, parentID string) error {
	if parentID == "" {
		return nil
	}
	unknown := &qm.Error{Code: qm.EInvalid, Message: "parent " + noun + " not found", Fields: map[string]string{"parent_id": "no such " + noun}}
	if !sqlstore.ValidID(parentID) {
		return unknown
	}
	// Walk up from the new parent; meeting the resource means a cycle.
	var found, cycle int
	err := c.QueryRow(ctx, `WITH RECURSIVE up(id, parent_id) AS (
			SELECT id, parent_id FROM `+table+` WHERE tenant_id = $1 AND id = $2
			UNION
			SELECT p.id, p.parent_id FROM `+table+` p JOIN up ON p.tenant_id = $1 AND p.id = up.parent_id
		)
		SELECT COUNT(*), COUNT(CASE WHEN id = $3 THEN 1 END) FROM up`,
		c.TenantID(), parentID, id).Scan(&found, &cycle)
	switch {
	case err != nil:
		return fmt.Errorf("check parent %s: %w", noun, err)
	case found == 0:
		return unknown
	case cycle > 0:
		return &qm.Error{Code: qm.EInvalid, Message: "a " + noun + " cannot be moved under itself or its descendants",
			Fields: map[string]string{"parent_id": "would make a cycle"}}
	}
	return nil
}
