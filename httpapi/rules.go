package httpapi

import (
	"net/http"
	"slices"

	"github.com/quartermaster/qm"
)

func (s *Server) listGeofences(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.Geofences.Geofences(r.Context())
	gs, page, err := listPage(r, gs, err)
	return reply(w, http.StatusOK, geofenceList{gs, page}, err)
}

func (s *Server) createGeofence(w http.ResponseWriter, r *http.Request) error {
	var body geofenceRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	g := &qm.Geofence{Name: body.Name, Shape: body.Shape}
	return reply(w, http.StatusCreated, g, s.svc.Geofences.CreateGeofence(r.Context(), g))
}

func (s *Server) getGeofence(w http.ResponseWriter, r *http.Request) error {
	g, err := s.svc.Geofences.Geofence(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, g, err)
}

func (s *Server) updateGeofence(w http.ResponseWriter, r *http.Request) error {
	var u qm.GeofenceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	g, err := s.svc.Geofences.UpdateGeofence(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, g, err)
}

func (s *Server) deleteGeofence(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Geofences.DeleteGeofence(r.Context(), r.PathValue("id")))
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.Rules.Rules(r.Context())
	rs, page, err := listPage(r, rs, err)
	return reply(w, http.StatusOK, ruleList{rs, page}, err)
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	var d qm.RuleDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	rule, err := s.svc.Rules.CreateRule(r.Context(), d)
	return reply(w, http.StatusCreated, rule, err)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := s.svc.Rules.Rule(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, rule, err)
}

func (s *Server) replaceRule(w http.ResponseWriter, r *http.Request) error {
	var d qm.RuleDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	rule, err := s.svc.Rules.ReplaceRule(r.Context(), r.PathValue("id"), d)
	return reply(w, http.StatusOK, rule, err)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Rules.DeleteRule(r.Context(), r.PathValue("id")))
}

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

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	chs, err := s.svc.Channels.Channels(r.Context())
	chs, page, err := listPage(r, chs, err)
	return reply(w, http.StatusOK, channelList{chs, page}, err)
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	var d qm.ChannelDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	ch, secret, err := s.svc.Channels.CreateChannel(r.Context(), d)
	return reply(w, http.StatusCreated, newChannel{Channel: ch, Secret: secret}, err)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) error {
	ch, err := s.svc.Channels.Channel(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, ch, err)
}

func (s *Server) replaceChannel(w http.ResponseWriter, r *http.Request) error {
	var d qm.ChannelDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	ch, err := s.svc.Channels.ReplaceChannel(r.Context(), r.PathValue("id"), d)
	return reply(w, http.StatusOK, ch, err)
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Channels.DeleteChannel(r.Context(), r.PathValue("id")))
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	as, err := s.svc.Channels.Deliveries(r.Context(), r.PathValue("id"), qm.MaxAlarmList)
	as, page, err := listPage(r, as, err)
	return reply(w, http.StatusOK, deliveryList{as, page}, err)
}

// listUnread pages through the newest of the member's unread events (the
// store's cap); unread counts them all.
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

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.Settings.Settings(r.Context())
	return reply(w, http.StatusOK, gs, err)
}

func (s *Server) setSettings(w http.ResponseWriter, r *http.Request) error {
	var gs qm.GeneralSettings
	if err := decode(r, &gs); err != nil {
		return err
	}
	got, err := s.svc.Settings.SetSettings(r.Context(), gs)
	return reply(w, http.StatusOK, got, err)
}
