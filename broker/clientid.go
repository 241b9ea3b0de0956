package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm/metrics"
)

// OnConnect binds the client id to the device: it must be the ident the
// device authenticates as (its user name), or empty, and then the broker
// gives it the ident. A session is found by its client id, so a device
// using another's id would take over that device's session and close its
// connection: any other id is refused with the protocol's "identifier
// rejected", before the credential is even checked.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	ident := string(pk.Connect.Username)
	switch pk.Connect.ClientIdentifier {
	case "":
		cl.ID, cl.Properties.Props.AssignedClientID = ident, ident
	case ident:
	default:
		return h.refuseClientID(cl, "the client id is not the device's ident")
	}
	if cl.ID == mqtt.InlineClientId {
		return h.refuseClientID(cl, "the client id is reserved")
	}
	return nil
}

// refuseClientID answers a CONNECT with "identifier rejected" and ends it.
func (h *hook) refuseClientID(cl *mqtt.Client, why string) error {
	h.b.cfg.Metrics.Refuse("mqtt", metrics.ClientID)
	h.b.cfg.Logger.Info("mqtt: connection refused", "ident", string(cl.Properties.Username), "client_id", cl.ID, "remote", cl.Net.Remote, "reason", why)
	if err := h.b.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil); err != nil {
		return err
	}
	return packets.ErrClientIdentifierNotValid
}
