package qm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The types a custom field may have.
const (
	FieldText        = "text"
	FieldNumber      = "number"
	FieldDate        = "date"
	FieldBoolean     = "boolean"
	FieldChoice      = "choice"
	FieldMultiChoice = "multichoice"
)

// FieldTypes lists them.
var FieldTypes = []string{FieldText, FieldNumber, FieldDate, FieldBoolean, FieldChoice, FieldMultiChoice}

// CustomField is a field a tenant adds to its assets: "MAC address",
// "RAM (GB)", "Encrypted". Fields are grouped in field sets; an asset has
// the fields of the set its model names and of the sets attached to its
// model's category.
type CustomField struct {
	ID string `json:"id"`
	// Key names the field in an asset's "fields" and in list filters:
	// lower-case letters, digits and underscores. Made from Name when not
	// given; it never changes.
	Key string `json:"key"`
	// Name is what people see, and the column of the field in CSV files.
	Name string `json:"name"`
	// Type is one of FieldTypes; it never changes.
	Type string `json:"type"`
	// Required fields must have a value on every asset that has the field.
	Required bool `json:"required"`
	// Unique fields never have the same value on two assets of the tenant.
	Unique bool `json:"unique"`
	// Pattern, for text fields, is a regular expression (RE2 syntax) the
	// whole value must match.
	Pattern string `json:"pattern,omitempty"`
	// Choices are the values a choice or multichoice field may take.
	Choices   []string  `json:"choices,omitempty"`
	HelpText  string    `json:"help_text,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var (
	fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	nonKeyRunes     = regexp.MustCompile(`[^a-z0-9]+`)
)

// Normalize trims the text fields, drops empty choices and makes a key
// from the name when there is none.
func (f *CustomField) Normalize() {
	f.Key, f.Name, f.Type, f.HelpText = strings.TrimSpace(f.Key), strings.TrimSpace(f.Name), strings.TrimSpace(f.Type), strings.TrimSpace(f.HelpText)
	f.Choices = slices.DeleteFunc(slices.Clone(f.Choices), func(c string) bool { return strings.TrimSpace(c) == "" })
	for i, c := range f.Choices {
		f.Choices[i] = strings.TrimSpace(c)
	}
	if f.Key == "" {
		f.Key = strings.Trim(nonKeyRunes.ReplaceAllString(strings.ToLower(f.Name), "_"), "_")
		if f.Key != "" && (f.Key[0] < 'a' || f.Key[0] > 'z') {
			f.Key = "f_" + f.Key
		}
		f.Key = f.Key[:min(len(f.Key), 63)]
	}
}

// Validate checks a field's definition, reporting every problem at once.
func (f *CustomField) Validate() error {
	fields := map[string]string{}
	if f.Name == "" || len([]rune(f.Name)) > 100 {
		fields["name"] = "name is required, at most 100 characters"
	}
	if !fieldKeyPattern.MatchString(f.Key) {
		fields["key"] = "key must be 1 to 63 lower-case letters, digits or underscores, starting with a letter"
	}
	if !slices.Contains(FieldTypes, f.Type) {
		fields["type"] = "type must be one of " + strings.Join(FieldTypes, ", ")
	}
	if f.Pattern != "" {
		if f.Type != FieldText {
			fields["pattern"] = "only text fields have a pattern"
		} else if _, err := regexp.Compile(f.Pattern); err != nil {
			fields["pattern"] = "pattern is not a valid regular expression: " + err.Error()
		}
	}
	choice := f.Type == FieldChoice || f.Type == FieldMultiChoice
	switch {
	case choice && len(f.Choices) == 0:
		fields["choices"] = "a choice field needs at least one choice"
	case !choice && len(f.Choices) > 0:
		fields["choices"] = "only choice fields have choices"
	case len(f.Choices) > 200:
		fields["choices"] = "at most 200 choices"
	}
	seen := map[string]bool{}
	for _, c := range f.Choices {
		if seen[strings.ToLower(c)] || len([]rune(c)) > 200 {
			fields["choices"] = fmt.Sprintf("choice %q is repeated (choices are matched ignoring case) or longer than 200 characters", c)
		}
		seen[strings.ToLower(c)] = true
	}
	if f.Unique && (f.Type == FieldBoolean || f.Type == FieldMultiChoice) {
		fields["unique"] = "a " + f.Type + " field cannot be unique"
	}
	if len([]rune(f.HelpText)) > 1000 {
		fields["help_text"] = "help text is longer than 1000 characters"
	}
	return fieldsError(fields)
}

// maxFieldValue bounds a stored value, in bytes.
const maxFieldValue = 4000

// Value checks v, a value as JSON decodes it (string, float64 or
// json.Number, bool, a list of strings) or a Go int, against the field, and returns its stored form. A
// string is read as ParseText reads it, so "12" is a number and "yes" a
// boolean.
func (f *CustomField) Value(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return f.ParseText(v)
	case float64:
		if f.Type == FieldNumber {
			return f.ParseText(strconv.FormatFloat(v, 'g', -1, 64))
		}
	case json.Number, int, int64:
		if f.Type == FieldNumber {
			return f.ParseText(fmt.Sprint(v))
		}
	case bool:
		if f.Type == FieldBoolean {
			return strconv.FormatBool(v), nil
		}
	case []any:
		if f.Type == FieldMultiChoice {
			picked := make([]string, 0, len(v))
			for _, c := range v {
				s, ok := c.(string)
				if !ok {
					return "", fmt.Errorf("must be a list of choices (strings)")
				}
				picked = append(picked, s)
			}
			return f.choose(picked)
		}
	}
	return "", fmt.Errorf("must be %s", f.expected())
}

// expected says in words what the field takes.
func (f *CustomField) expected() string {
	switch f.Type {
	case FieldNumber:
		return "a number"
	case FieldDate:
		return "a date, YYYY-MM-DD"
	case FieldBoolean:
		return "true or false"
	case FieldChoice:
		return "one of " + quoteAll(f.Choices)
	case FieldMultiChoice:
		return "a list of " + quoteAll(f.Choices)
	}
	return "text"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// ParseText reads a value written as text (a CSV cell, a query parameter)
// and returns its stored form. A multichoice value lists its choices
// separated by commas or semicolons. An empty string is no value: the
// caller decides whether that is allowed.
func (f *CustomField) ParseText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxFieldValue {
		return "", fmt.Errorf("is longer than %d bytes", maxFieldValue)
	}
	switch f.Type {
	case FieldText:
		if f.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err == nil && !re.MatchString(s) {
				return "", fmt.Errorf("%q does not match the pattern %s", s, f.Pattern)
			}
		}
		return s, nil
	case FieldNumber:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return "", fmt.Errorf("%q is not a number", s)
		}
		if math.Abs(n) > MaxCustomNumber {
			return "", fmt.Errorf("%s is beyond ±%g", s, float64(MaxCustomNumber))
		}
		return strconv.FormatFloat(n, 'g', -1, 64), nil
	case FieldDate:
		if _, err := ParseDate(s); err != nil {
			return "", err
		}
		return s, nil
	case FieldBoolean:
		switch strings.ToLower(s) {
		case "true", "yes", "y", "1":
			return "true", nil
		case "false", "no", "n", "0":
			return "false", nil
		}
		return "", fmt.Errorf("%q is not true or false", s)
	case FieldChoice:
		return f.choose([]string{s})
	case FieldMultiChoice:
		return f.choose(strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }))
	}
	return "", fmt.Errorf("unknown field type %q", f.Type)
}

// choose checks picked against the choices, ignoring case, and returns the
// stored form: the choice for a choice field, a JSON list in the order of
// the choices for a multichoice field.
func (f *CustomField) choose(picked []string) (string, error) {
	in := make([]bool, len(f.Choices))
	for _, p := range picked {
		p = strings.TrimSpace(p)
		i := slices.IndexFunc(f.Choices, func(c string) bool { return strings.EqualFold(c, p) })
		if i < 0 {
			return "", fmt.Errorf("%q is not one of %s", p, quoteAll(f.Choices))
		}
		in[i] = true
	}
	var out []string
	for i, c := range f.Choices {
		if in[i] {
			out = append(out, c)
		}
	}
	if f.Type == FieldChoice {
		if len(out) != 1 {
			return "", fmt.Errorf("must be %s", f.expected())
		}
		return out[0], nil
	}
	b, _ := json.Marshal(out)
	return string(b), nil
}

// Decode turns a stored value back into the value an asset shows: a
// number, a boolean, a list of choices, or a string.
func (f *CustomField) Decode(stored string) any {
	switch f.Type {
	case FieldNumber:
		if n, err := strconv.ParseFloat(stored, 64); err == nil {
			return n
		}
	case FieldBoolean:
		return stored == "true"
	case FieldMultiChoice:
		var picked []string
		if json.Unmarshal([]byte(stored), &picked) == nil {
			return picked
		}
	}
	return stored
}

// CustomFieldUpdate holds the changes to a field; nil leaves a part as it
// is. The key and the type never change.
type CustomFieldUpdate struct {
	Name     *string   `json:"name"`
	Required *bool     `json:"required"`
	Unique   *bool     `json:"unique"`
	Pattern  *string   `json:"pattern"`
	Choices  *[]string `json:"choices"`
	HelpText *string   `json:"help_text"`
}

// FieldSet groups custom fields. A model names the set its assets use;
// a set may also be attached to categories, so every asset of a model in
// one of them has its fields.
type FieldSet struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// FieldIDs are the set's fields, in the order they are shown.
	FieldIDs []string `json:"field_ids"`
	// CategoryIDs are the categories the set is attached to.
	CategoryIDs []string  `json:"category_ids"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate checks a set's own fields; the ids are checked by the store.
func (s *FieldSet) Validate() error {
	s.Name = strings.TrimSpace(s.Name)
	fields := map[string]string{}
	if s.Name == "" || len([]rune(s.Name)) > 200 {
		fields["name"] = "name is required, at most 200 characters"
	}
	for name, ids := range map[string][]string{"field_ids": s.FieldIDs, "category_ids": s.CategoryIDs} {
		if len(ids) > 500 {
			fields[name] = "at most 500 entries"
		}
		for i, id := range ids {
			if slices.Contains(ids[:i], id) {
				fields[name] = "lists " + id + " twice"
			}
		}
	}
	return fieldsError(fields)
}

// FieldSetUpdate holds the changes to a set; nil leaves a part as it is.
type FieldSetUpdate struct {
	Name        *string   `json:"name"`
	FieldIDs    *[]string `json:"field_ids"`
	CategoryIDs *[]string `json:"category_ids"`
}

// FieldService manages the custom fields and field sets of the tenant in
// scope. Tenant admins (settings:manage) change them; every member with
// assets:read may read them.
type FieldService interface {
	// CreateField stores f. EInvalid; EConflict for a taken key or name.
	CreateField(ctx context.Context, f *CustomField) error
	// Field returns one field. ENotFound.
	Field(ctx context.Context, id string) (*CustomField, error)
	// Fields lists every field by name.
	Fields(ctx context.Context) ([]*CustomField, error)
	// UpdateField changes a field. ENotFound, EInvalid; EConflict for a
	// taken name, or when making a field unique that assets share values of.
	UpdateField(ctx context.Context, id string, u CustomFieldUpdate) (*CustomField, error)
	// DeleteField removes a field, its values on every asset, and its place
	// in every set. ENotFound.
	DeleteField(ctx context.Context, id string) error

	// CreateFieldSet stores s. EInvalid (also for unknown fields or
	// categories); EConflict for a taken name.
	CreateFieldSet(ctx context.Context, s *FieldSet) error
	// FieldSet returns one set. ENotFound.
	FieldSet(ctx context.Context, id string) (*FieldSet, error)
	// FieldSets lists every set by name.
	FieldSets(ctx context.Context) ([]*FieldSet, error)
	// UpdateFieldSet changes a set. ENotFound, EInvalid, EConflict.
	UpdateFieldSet(ctx context.Context, id string, u FieldSetUpdate) (*FieldSet, error)
	// DeleteFieldSet removes a set. ENotFound; EConflict while a model
	// names it.
	DeleteFieldSet(ctx context.Context, id string) error
}
