package broker

import (
	"context"
	"hash/maphash"
	"slices"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// A device's settings reach it on whichever node it is connected to. The
// node whose API changed them publishes them (PublishConfig); every other
// node hears of the change (DeviceSettingsChanged) and publishes them
// too, retained; and a node that holds none of a device's settings (it
// started after they changed) reads them when the device subscribes to
// its config topic. Each reads them afresh, as the device reads them, so
// they are always the settings of the tenant that holds the device.

var _ qm.DeviceSettingsEvents = (*Broker)(nil)

// DeviceSettingsChanged implements qm.DeviceSettingsEvents: it publishes
// the settings tenant tenantID keeps of the device on the device's config
// topic, as PublishConfig does on the node that changed them; nothing
// once the tenant no longer holds the device.
func (b *Broker) DeviceSettingsChanged(ctx context.Context, tenantID, deviceID string) {
	b.passOnSettings(ctx, tenantID, deviceID, false, "changed elsewhere")
}

// OnSubscribe publishes a device's settings, read from storage, as it
// subscribes to its config topic on a node that holds none of them
// retained, so that it receives them with the subscription (unless it has
// none).
func (h *hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	v, ok := h.b.sessions.Load(cl)
	if cl.Net.Inline || !ok {
		return pk
	}
	s := v.(*session)
	topic := ConfigTopic(s.ident)
	if !slices.ContainsFunc(pk.Filters, func(f packets.Subscription) bool { return f.Filter == topic }) || len(h.b.srv.Topics.Messages(topic)) > 0 {
		return pk
	}
	h.b.passOnSettings(context.Background(), s.tenantID, s.deviceID, true, "on subscribe")
	return pk
}

// passOnSettings publishes the settings tenant tenantID keeps of the
// device, if Fleet is set to read them from; none when skipEmpty and
// there are none. It logs a failure, when says when it happened.
func (b *Broker) passOnSettings(ctx context.Context, tenantID, deviceID string, skipEmpty bool, when string) {
	if b.cfg.Fleet == nil {
		return
	}
	err := b.publishSettings(ctx, tenantID, deviceID, skipEmpty)
	switch qm.ErrorCode(err) {
	case "":
	case qm.ENotFound, qm.EForbidden, qm.EConflict, qm.ETenantInert, qm.EUnavailable:
		b.cfg.Logger.Info("mqtt: settings not passed on", "when", when, "device", deviceID, "reason", qm.ErrorMessage(err))
	default:
		b.cfg.Logger.Error("mqtt: pass on settings", "when", when, "device", deviceID, "err", err)
	}
}

// publishSettings reads and publishes the settings under the device's
// lock, so that settings read later are published later: read before a
// change and published after the settings read after it, they would stay
// retained.
func (b *Broker) publishSettings(ctx context.Context, tenantID, deviceID string, skipEmpty bool) error {
	mu := &b.settingsMu[maphash.String(custodySeed, deviceID)%uint64(len(b.settingsMu))]
	mu.Lock()
	defer mu.Unlock()
	d, err := b.cfg.Devices.Device(ctx, deviceID)
	if err != nil {
		return err
	}
	if d.TenantID != tenantID {
		return qm.Errorf(qm.EConflict, "device %s moved", d.Ident)
	}
	t, p, err := b.cfg.Auth.AsDevice(ctx, d)
	if err != nil {
		return err
	}
	ctx = tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), p)
	fd, err := b.cfg.Fleet.Device(ctx, d.ID)
	if err != nil || skipEmpty && len(fd.Settings) == 0 {
		return err
	}
	return b.PublishConfig(ctx, d.Ident, fd.Settings)
}
