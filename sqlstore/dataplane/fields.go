package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// FieldStore is the qm.FieldService on any engine and tier.
type FieldStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.FieldService = (*FieldStore)(nil)

// NewFieldStore returns a FieldStore.
func NewFieldStore(router sqlstore.Router, now func() time.Time) *FieldStore {
	return &FieldStore{router: router, now: now}
}

const fieldColumns = `id, key, name, type, required, is_unique, pattern, choices, help_text, created_at, updated_at`

var (
	errFieldNotFound    = qm.Errorf(qm.ENotFound, "custom field not found")
	errFieldSetNotFound = qm.Errorf(qm.ENotFound, "field set not found")
)

// CreateField implements qm.FieldService.
func (s *FieldStore) CreateField(ctx context.Context, f *qm.CustomField) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	f.ID = sqlstore.NewID()
	f.CreatedAt = sqlstore.Timestamp(s.now())
	f.UpdatedAt = f.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := sqlstore.Room(ctx, c, qm.MaxCustomFields, 1, sqlstore.CountRows(ctx, c, "custom_fields")); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO custom_fields (tenant_id, `+fieldColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.TenantID(), f.ID, f.Key, f.Name, f.Type, f.Required, f.Unique, f.Pattern, choicesJSON(f.Choices), f.HelpText, f.CreatedAt, f.UpdatedAt)
		if err != nil {
			return fieldError(err, "create custom field")
		}
		return sqlstore.Audit(ctx, c, f.CreatedAt, "custom_field.create", "custom_field", f.ID, nil, f)
	})
}

func choicesJSON(choices []string) string {
	if choices == nil {
		choices = []string{}
	}
	b, _ := json.Marshal(choices)
	return string(b)
}

func fieldError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "another custom field has this key or name",
			Fields: map[string]string{"key": "key and name must be unique", "name": "key and name must be unique"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Field implements qm.FieldService.
func (s *FieldStore) Field(ctx context.Context, id string) (*qm.CustomField, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.CustomField, error) { return findField(ctx, c, id) })
}

func findField(ctx context.Context, c sqlstore.Conn, id string) (*qm.CustomField, error) {
	if !sqlstore.ValidID(id) {
		return nil, errFieldNotFound
	}
	f, err := scanField(c.QueryRow(ctx, `SELECT `+fieldColumns+` FROM custom_fields WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errFieldNotFound
	case err != nil:
		return nil, fmt.Errorf("get custom field: %w", err)
	}
	return f, nil
}

// Fields implements qm.FieldService.
func (s *FieldStore) Fields(ctx context.Context) ([]*qm.CustomField, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.CustomField, error) { return allFields(ctx, c) })
}

func allFields(ctx context.Context, c sqlstore.Conn) ([]*qm.CustomField, error) {
	fs, err := sqlstore.QueryAll(ctx, c, scanField, `SELECT `+fieldColumns+` FROM custom_fields WHERE tenant_id = $1 ORDER BY name`, c.TenantID())
	if err != nil {
		return nil, fmt.Errorf("list custom fields: %w", err)
	}
	return fs, nil
}

// UpdateField implements qm.FieldService. Values already stored are kept
// as they are when the pattern, the choices or Required change; they are
// checked again when the asset is next written.
func (s *FieldStore) UpdateField(ctx context.Context, id string, u qm.CustomFieldUpdate) (*qm.CustomField, error) {
	var f *qm.CustomField
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findField(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		f = &after
		sqlstore.SetIf(&f.Name, u.Name)
		sqlstore.SetIf(&f.Required, u.Required)
		sqlstore.SetIf(&f.Unique, u.Unique)
		sqlstore.SetIf(&f.Pattern, u.Pattern)
		sqlstore.SetIf(&f.Choices, u.Choices)
		sqlstore.SetIf(&f.HelpText, u.HelpText)
		f.Normalize()
		if err := f.Validate(); err != nil {
			return err
		}
		f.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE custom_fields SET name = $3, required = $4, is_unique = $5, pattern = $6, choices = $7, help_text = $8,
			updated_at = $9 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), f.ID, f.Name, f.Required, f.Unique, f.Pattern, choicesJSON(f.Choices), f.HelpText, f.UpdatedAt)
		if err != nil {
			return fieldError(err, "update custom field")
		}
		if f.Unique != before.Unique {
			_, err = c.Exec(ctx, `UPDATE asset_field_values SET unique_value = CASE WHEN $3 THEN value END WHERE tenant_id = $1 AND field_id = $2`,
				c.TenantID(), f.ID, f.Unique)
			if sqlstore.IsConstraint(err, sqlstore.Unique) {
				return &qm.Error{Code: qm.EConflict, Message: "assets share values of this field: make them differ before making it unique",
					Fields: map[string]string{"unique": "assets share values"}}
			} else if err != nil {
				return fmt.Errorf("update custom field: %w", err)
			}
		}
		return sqlstore.Audit(ctx, c, f.UpdatedAt, "custom_field.update", "custom_field", f.ID, before, f)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// DeleteField implements qm.FieldService.
func (s *FieldStore) DeleteField(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findField(ctx, c, id)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM custom_fields WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete custom field: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "custom_field.delete", "custom_field", id, before, nil)
	})
}

func scanField(r sqlstore.Row) (*qm.CustomField, error) {
	var f qm.CustomField
	var choices string
	if err := r.Scan(&f.ID, &f.Key, &f.Name, &f.Type, &f.Required, &f.Unique, &f.Pattern, &choices, &f.HelpText, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(choices), &f.Choices); err != nil {
		return nil, fmt.Errorf("choices of field %s: %w", f.Key, err)
	}
	if len(f.Choices) == 0 {
		f.Choices = nil
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return &f, nil
}

// CreateFieldSet implements qm.FieldService.
func (s *FieldStore) CreateFieldSet(ctx context.Context, fs *qm.FieldSet) error {
	if err := fs.Validate(); err != nil {
		return err
	}
	fs.ID = sqlstore.NewID()
	fs.CreatedAt = sqlstore.Timestamp(s.now())
	fs.UpdatedAt = fs.CreatedAt
	fs.FieldIDs, fs.CategoryIDs = nonNil(fs.FieldIDs), nonNil(fs.CategoryIDs)
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO field_sets (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
			c.TenantID(), fs.ID, fs.Name, fs.CreatedAt, fs.UpdatedAt)
		if err != nil {
			return fieldSetError(err, "create field set")
		}
		if err := writeMembers(ctx, c, fs); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, fs.CreatedAt, "field_set.create", "field_set", fs.ID, nil, fs)
	})
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

func fieldSetError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a field set with this name already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// writeMembers replaces the fields and categories of a set with those fs
// lists, each checked to be the tenant's.
func writeMembers(ctx context.Context, c sqlstore.Conn, fs *qm.FieldSet) error {
	for _, ref := range []struct {
		table, field, noun string
		ids                []string
	}{{"custom_fields", "field_ids", "custom field", fs.FieldIDs}, {"categories", "category_ids", "category", fs.CategoryIDs}} {
		for _, id := range ref.ids {
			if err := RefExists(ctx, c, ref.table, ref.field, ref.noun, id, true); err != nil {
				return err
			}
		}
	}
	for _, table := range []string{"field_set_fields", "field_set_categories"} {
		if _, err := c.Exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1 AND field_set_id = $2`, c.TenantID(), fs.ID); err != nil {
			return fmt.Errorf("write field set: %w", err)
		}
	}
	for i, id := range fs.FieldIDs {
		if _, err := c.Exec(ctx, `INSERT INTO field_set_fields (tenant_id, field_set_id, field_id, position) VALUES ($1, $2, $3, $4)`,
			c.TenantID(), fs.ID, id, i); err != nil {
			return fmt.Errorf("write field set: %w", err)
		}
	}
	for _, id := range fs.CategoryIDs {
		if _, err := c.Exec(ctx, `INSERT INTO field_set_categories (tenant_id, field_set_id, category_id) VALUES ($1, $2, $3)`,
			c.TenantID(), fs.ID, id); err != nil {
			return fmt.Errorf("write field set: %w", err)
		}
	}
	return nil
}

// FieldSet implements qm.FieldService.
func (s *FieldStore) FieldSet(ctx context.Context, id string) (*qm.FieldSet, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.FieldSet, error) { return findFieldSet(ctx, c, id) })
}

func findFieldSet(ctx context.Context, c sqlstore.Conn, id string) (*qm.FieldSet, error) {
	if !sqlstore.ValidID(id) {
		return nil, errFieldSetNotFound
	}
	fs, err := scanFieldSet(c.QueryRow(ctx, `SELECT id, name, created_at, updated_at FROM field_sets WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errFieldSetNotFound
	case err != nil:
		return nil, fmt.Errorf("get field set: %w", err)
	}
	return fs, readMembers(ctx, c, []*qm.FieldSet{fs})
}

// FieldSets implements qm.FieldService.
func (s *FieldStore) FieldSets(ctx context.Context) ([]*qm.FieldSet, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.FieldSet, error) {
		sets, err := sqlstore.QueryAll(ctx, c, scanFieldSet, `SELECT id, name, created_at, updated_at FROM field_sets WHERE tenant_id = $1 ORDER BY name`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list field sets: %w", err)
		}
		return sets, readMembers(ctx, c, sets)
	})
}

// readMembers fills in the fields and categories of sets.
func readMembers(ctx context.Context, c sqlstore.Conn, sets []*qm.FieldSet) error {
	byID := map[string]*qm.FieldSet{}
	for _, fs := range sets {
		byID[fs.ID] = fs
	}
	for _, q := range []struct {
		query string
		list  func(*qm.FieldSet) *[]string
	}{
		{`SELECT field_set_id, field_id FROM field_set_fields WHERE tenant_id = $1 ORDER BY field_set_id, position`,
			func(fs *qm.FieldSet) *[]string { return &fs.FieldIDs }},
		{`SELECT field_set_id, category_id FROM field_set_categories WHERE tenant_id = $1 ORDER BY field_set_id, category_id`,
			func(fs *qm.FieldSet) *[]string { return &fs.CategoryIDs }},
	} {
		rows, err := c.Query(ctx, q.query, c.TenantID())
		if err != nil {
			return fmt.Errorf("read field sets: %w", err)
		}
		for rows.Next() {
			var set, id string
			if err := rows.Scan(&set, &id); err != nil {
				rows.Close()
				return fmt.Errorf("read field sets: %w", err)
			}
			if fs := byID[set]; fs != nil {
				*q.list(fs) = append(*q.list(fs), id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read field sets: %w", err)
		}
	}
	return nil
}

// UpdateFieldSet implements qm.FieldService.
func (s *FieldStore) UpdateFieldSet(ctx context.Context, id string, u qm.FieldSetUpdate) (*qm.FieldSet, error) {
	var fs *qm.FieldSet
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findFieldSet(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		fs = &after
		sqlstore.SetIf(&fs.Name, u.Name)
		sqlstore.SetIf(&fs.FieldIDs, u.FieldIDs)
		sqlstore.SetIf(&fs.CategoryIDs, u.CategoryIDs)
		fs.FieldIDs, fs.CategoryIDs = nonNil(fs.FieldIDs), nonNil(fs.CategoryIDs)
		if err := fs.Validate(); err != nil {
			return err
		}
		fs.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE field_sets SET name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, c.TenantID(), fs.ID, fs.Name, fs.UpdatedAt)
		if err != nil {
			return fieldSetError(err, "update field set")
		}
		if err := writeMembers(ctx, c, fs); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, fs.UpdatedAt, "field_set.update", "field_set", fs.ID, before, fs)
	})
	if err != nil {
		return nil, err
	}
	return fs, nil
}

// DeleteFieldSet implements qm.FieldService. Models are checked here, not
// left to a foreign key: SQLite could not add one to the models table.
func (s *FieldStore) DeleteFieldSet(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findFieldSet(ctx, c, id)
		if err != nil {
			return err
		}
		var users int
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM models WHERE tenant_id = $1 AND field_set_id = $2`, c.TenantID(), id).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return qm.Errorf(qm.EConflict, "field set %q is used by %d models", before.Name, users)
		}
		if _, err := c.Exec(ctx, `DELETE FROM field_sets WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete field set: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "field_set.delete", "field_set", id, before, nil)
	})
}

func scanFieldSet(r sqlstore.Row) (*qm.FieldSet, error) {
	fs := qm.FieldSet{FieldIDs: []string{}, CategoryIDs: []string{}}
	if err := r.Scan(&fs.ID, &fs.Name, &fs.CreatedAt, &fs.UpdatedAt); err != nil {
		return nil, err
	}
	fs.CreatedAt, fs.UpdatedAt = fs.CreatedAt.UTC(), fs.UpdatedAt.UTC()
	return &fs, nil
}
