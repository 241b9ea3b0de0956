package httpapi

import (
	"net/http"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/usage"
)

// usageLines is the operator's month of usage, one line per tenant and
// meter.
type usageLines struct {
	Month string         `json:"month"`
	Lines []qm.UsageLine `json:"lines"`
}

// tenantUsage answers the tenant's usage from ?from= to ?to= (days,
// YYYY-MM-DD; by default this month so far), with its quotas and limits.
func (s *Server) tenantUsage(w http.ResponseWriter, r *http.Request) error {
	now := s.cfg.Now().UTC()
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" {
		from = now.Format("2006-01") + "-01"
	}
	if to == "" {
		to = now.Format(time.DateOnly)
	}
	u, err := s.svc.Usage.Usage(r.Context(), from, to)
	return reply(w, http.StatusOK, u, err)
}

// operatorUsage answers every tenant's usage of ?month= (YYYY-MM; by
// default this month), for billing: JSON, or CSV with ?format=csv.
func (s *Server) operatorUsage(w http.ResponseWriter, r *http.Request) error {
	month := r.URL.Query().Get("month")
	if month == "" {
		month = s.cfg.Now().UTC().Format("2006-01")
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return qm.Errorf(qm.EBadRequest, "format must be json or csv, got %q", format)
	}
	lines, err := s.svc.Usage.MonthUsage(r.Context(), month)
	if err != nil || format != "csv" {
		return reply(w, http.StatusOK, usageLines{month, lines}, err)
	}
	w.Header().Set("Content-Type", string(csvFile)+"; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="usage-`+month+`.csv"`)
	return usage.WriteCSV(w, lines)
}

// serverList is every server tenants' data is kept on.
type serverList struct {
	Servers []qm.DataServer `json:"servers"`
}

// operatorServers lists the servers tenants' data is kept on, each with
// the tenants it keeps and the bytes it holds.
func (s *Server) operatorServers(w http.ResponseWriter, r *http.Request) error {
	servers, err := s.svc.Tenants.Servers(r.Context())
	return reply(w, http.StatusOK, serverList{servers}, err)
}
