package httpapi

import (
	"net/http"
	"slices"

	"github.com/quartermaster/qm"
)

func (s *Server) listAlarms(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := qm.AlarmFilter{Severity: qm.Severity(q.Get("severity")), SubjectID: q.Get("subject_id")}
	switch q.Get("open") {
	case "", "false":
	case "true":
		f.Open = true
	default:
		return qm.Errorf(qm.EBadRequest, "open must be true or false")
	}
	if f.Severity != "" && !slices.Contains(qm.Severities, f.Severity) {
		return qm.Errorf(qm.EBadRequest, "severity %q is not one of critical, major, minor, warning, info", f.Severity)
	}
	f.Limit = qm.MaxAlarmList
	as, err := s.svc.Alarms.Alarms(r.Context(), f)
	as, page, err := listPage(r, as, err)
	return reply(w, http.StatusOK, alarmList{as, page}, err)
}

func (s *Server) getAlarm(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.Alarms.Alarm(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) acknowledgeAlarm(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.Alarms.AcknowledgeAlarm(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) clearAlarm(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.Alarms.ClearAlarm(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) listAlarmEvents(w http.ResponseWriter, r *http.Request) error {
	evs, err := s.svc.Alarms.AlarmEvents(r.Context(), r.PathValue("id"), qm.MaxAlarmList)
	evs, page, err := listPage(r, evs, err)
	return reply(w, http.StatusOK, alarmEventList{evs, page}, err)
}

func (s *Server) listUnread(w http.ResponseWriter, r *http.Request) error {
	evs, n, err := s.svc.Alarms.Unread(r.Context(), qm.MaxAlarmList)
	evs, page, err := listPage(r, evs, err)
	return reply(w, http.StatusOK, unreadList{Events: evs, Unread: n, pageInfo: page}, err)
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) error {
	var body markReadRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	return noContent(w, s.svc.Alarms.MarkRead(r.Context(), body.EventID))
}
