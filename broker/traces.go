package broker

import (
	"context"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm"
)

// The broker keeps, per device, what its tenant and credential left here:
// retained messages on devices/{ident}/#, a session (subscriptions,
// inflight and queued messages) under the client id, which is the ident,
// and the connection itself. All of it belongs to one custody: the tenant
// holding the device, since when, with which credential. When the custody
// changes, forget drops all of it, so neither the new tenant nor whoever
// still holds the old credential reads what the other left.
//
// It learns of a change in two ways, both ending in forget: the device
// inventory of this process tells it (DeviceChanged, at once), and before
// the broker adds a trace (a device connects, a config is published) it
// compares the device's custody with the one it recorded, which catches
// changes made by another process (the CLI, another node).

// custody is whose a device's traces are: a hash of the tenant holding
// it, since when, and with which credential (kept small: the broker holds
// one per device); at, when the custody began, orders two views of one
// device (an unassigned device has none the broker could see).
type custody struct {
	key uint64
	at  int64
}

// custodySeed seeds the custody hashes of this process.
var custodySeed = maphash.MakeSeed()

// custodyOf is d's custody.
func custodyOf(d *qm.Device) custody {
	assigned, at := "", d.TokenRotatedAt
	if d.AssignedAt != nil {
		assigned = d.AssignedAt.UTC().Format(time.RFC3339Nano)
		if d.AssignedAt.After(at) {
			at = *d.AssignedAt
		}
	}
	key := d.TenantID + " " + assigned + " " + d.TokenRotatedAt.UTC().Format(time.RFC3339Nano)
	return custody{key: maphash.String(custodySeed, key), at: at.UnixNano()}
}

// DeviceChanged implements qm.DeviceEvents: what the device left here
// under an earlier custody is dropped and its connection closed. What it
// left under the custody the change made is kept: a change heard late
// (from another process, through the catalog's changes) may arrive after
// the device connected afresh with its new credential, and that
// connection, and what it was sent, are the new holder's.
func (b *Broker) DeviceChanged(_ context.Context, c qm.DeviceChange) {
	b.custodyMu.Lock()
	defer b.custodyMu.Unlock()
	if was, ok := b.custody[c.Device.Ident]; ok && was.key == custodyOf(c.Device).key {
		return
	}
	// The next view of the device, read after the change, records its
	// custody.
	delete(b.custody, c.Device.Ident)
	b.forget(c.Device.Ident)
	b.cfg.Logger.Info("mqtt: device traces cleared", "ident", c.Device.Ident, "change", c.Action)
}

// admitCustody records d's custody before the broker keeps anything of
// d, first forgetting what an earlier custody left. It reports false for
// a view of d older than the one recorded (a node's cached credential,
// after the CLI or another node moved the device): nothing may be kept
// for it.
func (b *Broker) admitCustody(d *qm.Device) bool {
	now := custodyOf(d)
	b.custodyMu.Lock()
	defer b.custodyMu.Unlock()
	was, ok := b.custody[d.Ident]
	switch {
	case !ok:
	case was.at > now.at:
		return false
	case was.key != now.key:
		b.forget(d.Ident)
		b.cfg.Logger.Info("mqtt: device traces cleared", "ident", d.Ident, "change", "custody changed elsewhere")
	}
	b.custody[d.Ident] = now
	return true
}

// forget closes the device's connection and drops its session and its
// retained messages. The caller holds custodyMu.
func (b *Broker) forget(ident string) {
	if cl, ok := b.srv.Clients.Get(ident); ok && !cl.Net.Inline {
		// Stop closes the connection without writing to it: a peer that
		// does not read cannot hold the broker here.
		cl.Stop(packets.ErrNotAuthorized)
		b.srv.UnsubscribeClient(cl)
		cl.ClearInflights()
		if now, ok := b.srv.Clients.Get(ident); ok && now == cl {
			b.srv.Clients.Delete(ident)
		}
	}
	for _, pk := range b.srv.Topics.Messages(deviceTopics(ident)) {
		b.srv.Topics.RetainMessage(packets.Packet{TopicName: pk.TopicName}) // no payload: deleted
	}
	atomic.StoreInt64(&b.srv.Info.Retained, int64(b.srv.Topics.Retained.Len()))
}

// deviceTopics is the filter of every topic of a device.
func deviceTopics(ident string) string { return "devices/" + ident + "/#" }
