package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

// operatorAuditPage is a page of the operator's audit log, newest first.
type operatorAuditPage struct {
	Entries []*qm.OperatorAuditEntry `json:"entries"`
	pageInfo
}

// operatorAudit answers the operator's audit log, of one tenant (tenant=,
// its slug: the tenant may be purged) and one action (action=) if asked.
func (s *Server) operatorAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := qm.OperatorAuditFilter{Tenant: q.Get("tenant"), Action: q.Get("action"), Before: p.After, Limit: p.Limit + 1}
	entries, err := s.svc.Tenants.OperatorAudit(r.Context(), f)
	if err != nil {
		return err
	}
	total, err := s.svc.Tenants.CountOperatorAudit(r.Context(), f)
	entries, page := storePage(p, entries, total, func(e *qm.OperatorAuditEntry) string { return e.ID })
	return reply(w, http.StatusOK, operatorAuditPage{entries, page}, err)
}
