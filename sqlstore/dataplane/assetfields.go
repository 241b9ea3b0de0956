package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// fieldCatalog is a tenant's custom fields, read once for a write or an
// import, and which of them each model's assets have.
type fieldCatalog struct {
	byKey   map[string]*qm.CustomField
	byID    map[string]*qm.CustomField
	byModel map[string]map[string]bool // model id → ids of its fields
}

func loadFieldCatalog(ctx context.Context, c sqlstore.Conn) (*fieldCatalog, error) {
	fs, err := allFields(ctx, c)
	if err != nil {
		return nil, err
	}
	fc := &fieldCatalog{byKey: map[string]*qm.CustomField{}, byID: map[string]*qm.CustomField{}, byModel: map[string]map[string]bool{}}
	for _, f := range fs {
		fc.byKey[f.Key], fc.byID[f.ID] = f, f
	}
	return fc, nil
}

// forModel returns the ids of the fields a model's assets have: those of
// the set the model names and of the sets attached to its category.
func (fc *fieldCatalog) forModel(ctx context.Context, c sqlstore.Conn, modelID string) (map[string]bool, error) {
	if ids, ok := fc.byModel[modelID]; ok {
		return ids, nil
	}
	ids := map[string]bool{}
	if len(fc.byID) > 0 {
		rows, err := c.Query(ctx, `SELECT field_id FROM field_set_fields WHERE tenant_id = $1 AND field_set_id IN (
			SELECT field_set_id FROM models WHERE tenant_id = $1 AND id = $2 AND field_set_id IS NOT NULL
			UNION
			SELECT x.field_set_id FROM field_set_categories x JOIN models m ON m.tenant_id = x.tenant_id AND m.category_id = x.category_id
				WHERE m.tenant_id = $1 AND m.id = $2)`, c.TenantID(), modelID)
		if err != nil {
			return nil, fmt.Errorf("fields of model: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("fields of model: %w", err)
			}
			ids[id] = true
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("fields of model: %w", err)
		}
	}
	fc.byModel[modelID] = ids
	return ids, nil
}

// fieldChange is the stored value a write gives one field; "" clears it.
type fieldChange map[*qm.CustomField]string

// check validates the values a write gives (by key) for asset a, whose
// Fields hold what is stored now, and returns the changes. Every problem
// is reported at once, by "fields.<key>": unknown fields, fields the
// asset's model does not have, wrong values, and required fields left
// without a value.
func (fc *fieldCatalog) check(ctx context.Context, c sqlstore.Conn, a *qm.Asset, given map[string]any) (fieldChange, error) {
	has, err := fc.forModel(ctx, c, a.ModelID)
	if err != nil {
		return nil, err
	}
	problems := map[string]string{}
	change := fieldChange{}
	for key, v := range given {
		f := fc.byKey[key]
		switch {
		case f == nil:
			problems["fields."+key] = "no custom field has this key"
		case v == nil || v == "":
			change[f] = ""
		case !has[f.ID]:
			problems["fields."+key] = "the asset's model does not have this field: add it to the model's field set"
		default:
			stored, err := f.Value(v)
			if err != nil {
				problems["fields."+key] = f.Name + " " + err.Error()
			} else {
				change[f] = stored
			}
		}
	}
	for id := range has {
		f := fc.byID[id]
		if !f.Required {
			continue
		}
		stored, changed := change[f]
		if problems["fields."+f.Key] == "" && (changed && stored == "" || !changed && a.Fields[f.Key] == nil) {
			problems["fields."+f.Key] = f.Name + " is required"
		}
	}
	if len(problems) > 0 {
		msg := "invalid custom field values"
		if len(problems) == 1 {
			for _, m := range problems {
				msg = m
			}
		}
		return nil, &qm.Error{Code: qm.EInvalid, Message: msg, Fields: problems}
	}
	return change, nil
}

// apply writes the changes for asset a and sets a.Fields to match.
func (change fieldChange) apply(ctx context.Context, c sqlstore.Conn, a *qm.Asset) error {
	change.values(a)
	return change.store(ctx, c, a.ID)
}

// values sets a.Fields as the changes leave them.
func (change fieldChange) values(a *qm.Asset) {
	for f, stored := range change {
		switch {
		case stored == "":
			delete(a.Fields, f.Key)
		case a.Fields == nil:
			a.Fields = map[string]any{f.Key: f.Decode(stored)}
		default:
			a.Fields[f.Key] = f.Decode(stored)
		}
	}
}

// store writes the changes for the asset with id assetID.
func (change fieldChange) store(ctx context.Context, c sqlstore.Conn, assetID string) error {
	for f, stored := range change {
		if stored == "" {
			if _, err := c.Exec(ctx, `DELETE FROM asset_field_values WHERE tenant_id = $1 AND asset_id = $2 AND field_id = $3`,
				c.TenantID(), assetID, f.ID); err != nil {
				return fmt.Errorf("clear custom field %s: %w", f.Key, err)
			}
			continue
		}
		var unique any
		if f.Unique {
			unique = stored
		}
		_, err := c.Exec(ctx, `INSERT INTO asset_field_values (tenant_id, asset_id, field_id, value, unique_value) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, asset_id, field_id) DO UPDATE SET value = excluded.value, unique_value = excluded.unique_value`,
			c.TenantID(), assetID, f.ID, stored, unique)
		if sqlstore.IsConstraint(err, sqlstore.Unique) {
			return &qm.Error{Code: qm.EConflict, Message: "another asset has this " + f.Name,
				Fields: map[string]string{"fields." + f.Key: "another asset has this value"}}
		} else if err != nil {
			return fmt.Errorf("set custom field %s: %w", f.Key, err)
		}
	}
	return nil
}

// readFieldValues fills in the custom field values of assets.
func readFieldValues(ctx context.Context, c sqlstore.Conn, assets ...*qm.Asset) error {
	if len(assets) == 0 {
		return nil
	}
	byID := make(map[string]*qm.Asset, len(assets))
	ids := make([]any, 0, len(assets))
	for _, a := range assets {
		byID[a.ID] = a
		ids = append(ids, a.ID)
	}
	args := sqlstore.Args{c.TenantID()}
	rows, err := c.Query(ctx, `SELECT v.asset_id, f.key, f.type, v.value FROM asset_field_values v
		JOIN custom_fields f ON f.tenant_id = v.tenant_id AND f.id = v.field_id
		WHERE v.tenant_id = $1 AND v.asset_id IN (`+args.List(ids...)+`)`, args...)
	if err != nil {
		return fmt.Errorf("read custom field values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var assetID, stored string
		var f qm.CustomField
		if err := rows.Scan(&assetID, &f.Key, &f.Type, &stored); err != nil {
			return fmt.Errorf("read custom field values: %w", err)
		}
		a := byID[assetID]
		if a.Fields == nil {
			a.Fields = map[string]any{}
		}
		a.Fields[f.Key] = f.Decode(stored)
	}
	return rows.Err()
}

// fieldFilter is the condition that keeps the assets whose field key has
// value (as text), with its arguments appended to args. It returns
// EBadRequest for an unknown key or a value the field cannot have.
func fieldFilter(ctx context.Context, c sqlstore.Conn, key, value string, args *sqlstore.Args) (string, error) {
	f, err := scanField(c.QueryRow(ctx, `SELECT `+fieldColumns+` FROM custom_fields WHERE tenant_id = $1 AND key = $2`, c.TenantID(), key))
	if err != nil {
		if errors.Is(err, sqlstore.ErrNoRows) {
			return "", qm.Errorf(qm.EBadRequest, "no custom field has the key %q", key)
		}
		return "", fmt.Errorf("filter by custom field: %w", err)
	}
	stored, err := f.ParseText(value)
	if err != nil {
		return "", qm.Errorf(qm.EBadRequest, "filter on %s: %v", f.Name, err)
	}
	cond := `id IN (SELECT asset_id FROM asset_field_values WHERE tenant_id = $1 AND field_id = ` + args.Add(f.ID)
	if picked, ok := f.Decode(stored).([]string); ok {
		for _, p := range picked {
			q, _ := json.Marshal(p)
			cond += ` AND value LIKE ` + args.Add("%"+sqlstore.EscapeLike(string(q))+"%") + ` ESCAPE '\'`
		}
		return cond + ")", nil
	}
	return cond + ` AND value = ` + args.Add(stored) + `)`, nil
}
