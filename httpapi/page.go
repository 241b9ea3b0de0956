package httpapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/quartermaster/qm"
)

// Every list the API answers pages the same way: ?limit= (a default, and a
// maximum that larger values are cut to) and ?after= (the cursor the
// previous page gave as next); the reply holds the page's items, the total
// the list holds, and next whenever more may follow. A list reply embeds
// pageInfo, and that is what makes a route a list (isList): the paging
// parameters, their validation and their description follow from it.

// pageInfo is the part every list reply shares.
type pageInfo struct {
	// Total counts every item of the list, on all pages.
	Total int `json:"total"`
	// Next is the cursor of the next page (pass it as after); absent on
	// the last page.
	Next string `json:"next,omitempty"`
}

// pageRequest is what a caller asked of a list: where to start and how
// many.
type pageRequest struct {
	After string
	Limit int
}

// pageSize is a list's default and maximum limit.
type pageSize struct{ Default, Max int }

// defaultPageSize is every list's, unless pageSizes says otherwise.
var defaultPageSize = pageSize{100, 1000}

// pageSizes are the lists whose stores page in other sizes: points come
// in bulk, assets, devices and the audit logs in smaller pages (the stores
// read one row more than the maximum, to know whether more follow).
var pageSizes = map[string]pageSize{
	"GET /api/v1/t/{tenant}/devices/{device}/points": {500, 5000},
	"GET /api/v1/t/{tenant}/assets":                  {50, 500},
	"GET /api/v1/t/{tenant}/audit":                   {50, 500},
	"GET /api/v1/operator/audit":                     {50, 500},
	"GET /api/v1/operator/devices":                   {100, 500},
}

// pageParams are the query parameters every list takes.
var pageParams = []string{"after", "limit"}

type pageSizeKey struct{}

// parsePage reads ?after= and ?limit=, within the route's page size.
func parsePage(r *http.Request) (pageRequest, error) {
	size, ok := r.Context().Value(pageSizeKey{}).(pageSize)
	if !ok {
		size = defaultPageSize
	}
	p := pageRequest{After: r.URL.Query().Get("after"), Limit: size.Default}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, qm.Errorf(qm.EBadRequest, "limit must be a whole number from 1 to %d, got %q", size.Max, v)
		}
		p.Limit = min(n, size.Max)
	}
	return p, nil
}

// listPage answers the page the request asks of a list the store gave
// whole; its cursor is the position the page starts at, so a row added or
// removed between two pages shifts the next page by one. These lists are
// at most thousands (references, roles, locations, a device's trips); the
// large ones page in their stores (storePage).
func listPage[T any](r *http.Request, all []T, err error) ([]T, pageInfo, error) {
	if err != nil {
		return nil, pageInfo{}, err
	}
	p, err := parsePage(r)
	if err != nil {
		return nil, pageInfo{}, err
	}
	start := 0
	if p.After != "" {
		if start, err = strconv.Atoi(p.After); err != nil || start < 0 {
			return nil, pageInfo{}, qm.Errorf(qm.EBadRequest, "after must be a cursor this list gave, got %q", p.After)
		}
	}
	start = min(start, len(all))
	end := min(start+p.Limit, len(all))
	info := pageInfo{Total: len(all)}
	if end < len(all) {
		info.Next = strconv.Itoa(end)
	}
	return append(make([]T, 0, end-start), all[start:end]...), info, nil
}

// storePage cuts rows, which the store read with a limit of p.Limit+1, to
// the page: the extra row says whether a next page exists, and next is
// the cursor of the page's last item.
func storePage[T any](p pageRequest, rows []T, total int, cursor func(T) string) ([]T, pageInfo) {
	info := pageInfo{Total: total}
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		info.Next = cursor(rows[len(rows)-1])
	}
	return rows, info
}

var pageInfoType = reflect.TypeOf(pageInfo{})

// isList says whether rt answers a list: its reply embeds pageInfo.
func isList(rt Route) bool {
	t := reflect.TypeOf(rt.Reply)
	if rt.Method != http.MethodGet || t == nil || t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Type == pageInfoType {
			return true
		}
	}
	return false
}

// pageParamDocs describes the paging parameters of rt for OpenAPI.
func pageParamDocs(rt Route) []any {
	size := sizeOf(rt)
	return []any{
		map[string]any{"name": "limit", "in": "query", "required": false,
			"description": fmt.Sprintf("how many items to answer: %d unless set; more than %d is cut to %d", size.Default, size.Max, size.Max),
			"schema":      map[string]any{"type": "integer", "minimum": 1, "default": size.Default, "maximum": size.Max}},
		map[string]any{"name": "after", "in": "query", "required": false,
			"description": "the next cursor of the previous page", "schema": map[string]any{"type": "string"}},
	}
}

// sizeOf is rt's page size.
func sizeOf(rt Route) pageSize {
	if size, ok := pageSizes[rt.Method+" "+rt.Path]; ok {
		return size
	}
	return defaultPageSize
}
