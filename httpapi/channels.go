package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

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

// testChannel sends the channel a test notification at once, and answers
// how it went.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.ChannelTests.TestChannel(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, a, err)
}

// listUnread pages through the newest of the member's unread events (the
// store's cap); unread counts them all.
