package qm

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Channel is where a tenant's rules send their alarms' events: a webhook
// (a signed POST of JSON) or e-mail to a few addresses. A webhook's
// signing secret is shown once, when it is made.
type Channel struct {
	ID string `json:"id"`
	ChannelDefinition
	// FailingSince is when deliveries to the channel began to fail, nil
	// while they succeed; a webhook failing for a day is disabled, with
	// DisabledReason saying so.
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// ChannelDefinition is what a tenant says a channel is.
type ChannelDefinition struct {
	Name    string      `json:"name"`
	Kind    ChannelKind `json:"kind"`
	Enabled bool        `json:"enabled"`
	// URL is a webhook's target; Emails an e-mail channel's addresses.
	URL    string   `json:"url,omitempty"`
	Emails []string `json:"emails,omitempty"`
}

// ChannelKind is how a channel delivers.
type ChannelKind string

// The kinds of channel.
const (
	ChannelWebhook ChannelKind = "webhook"
	ChannelEmail   ChannelKind = "email"
)

// MaxChannelEmails bounds an e-mail channel's addresses: a channel is for
// a team's inbox or two, not a mailing list.
const MaxChannelEmails = 20

// Normalize trims the name and the addresses, and drops repeats.
func (d *ChannelDefinition) Normalize() {
	d.Name = strings.TrimSpace(d.Name)
	d.URL = strings.TrimSpace(d.URL)
	for i, e := range d.Emails {
		d.Emails[i] = strings.ToLower(strings.TrimSpace(e))
	}
	slices.Sort(d.Emails)
	d.Emails = slices.Compact(d.Emails)
}

// Validate checks the definition: a name, a known kind, and a URL for a
// webhook or addresses for e-mail (each a bare address), not both. Whether
// a webhook's URL may be reached is the service's to say (it knows the
// operator's policy). EInvalid, with Fields.
func (d *ChannelDefinition) Validate() error {
	fields := map[string]string{}
	switch {
	case d.Name == "":
		fields["name"] = "name is required"
	case len(d.Name) > 200:
		fields["name"] = "name is longer than 200 bytes"
	}
	switch d.Kind {
	case ChannelWebhook:
		if d.URL == "" {
			fields["url"] = "a webhook needs its url"
		}
		if len(d.Emails) > 0 {
			fields["emails"] = "a webhook has no e-mail addresses"
		}
	case ChannelEmail:
		switch {
		case len(d.Emails) == 0:
			fields["emails"] = "an e-mail channel needs at least one address"
		case len(d.Emails) > MaxChannelEmails:
			fields["emails"] = fmt.Sprintf("at most %d addresses", MaxChannelEmails)
		}
		for _, e := range d.Emails {
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e || a.Name != "" {
				fields["emails"] = fmt.Sprintf("%q is not an e-mail address", e)
				break
			}
		}
		if d.URL != "" {
			fields["url"] = "an e-mail channel has no url"
		}
	default:
		fields["kind"] = fmt.Sprintf("kind %q is not webhook or email", d.Kind)
	}
	return fieldsError(fields)
}

// ChannelService manages a tenant's notification channels. The tenant is
// taken from the context; a channel of another tenant is ENotFound. Every
// change is audited.
type ChannelService interface {
	// CreateChannel validates d and stores it as a new channel. It
	// returns, for a webhook, its signing secret, which is never shown
	// again. EInvalid, also for a webhook's URL the operator's policy
	// refuses (private addresses); EConflict for a name taken.
	CreateChannel(ctx context.Context, d ChannelDefinition) (*Channel, string, error)
	// Channel returns one channel. ENotFound.
	Channel(ctx context.Context, id string) (*Channel, error)
	// Channels lists the tenant's channels by name.
	Channels(ctx context.Context) ([]*Channel, error)
	// ReplaceChannel replaces channel id's definition (its secret stays;
	// enabling it again clears its failures). ENotFound; EInvalid and
	// EConflict as for CreateChannel, and EInvalid for a change of kind.
	ReplaceChannel(ctx context.Context, id string, d ChannelDefinition) (*Channel, error)
	// DeleteChannel removes a channel, and it from the rules that name it.
	// ENotFound.
	DeleteChannel(ctx context.Context, id string) error
	// Deliveries is the channel's delivery log, newest first, at most
	// limit (0 means 100, and at most MaxAlarmList). ENotFound.
	Deliveries(ctx context.Context, id string, limit int) ([]*DeliveryAttempt, error)
}

// Notification is one event to send to one channel, from the outbox: the
// event, the channel (with a webhook's secret), and how many attempts
// failed before.
type Notification struct {
	Event    *AlarmEvent
	Channel  *Channel
	Secret   string
	Attempts int
	// Since is when the notification entered the outbox.
	Since time.Time
	// QuietHours are its rule's, read in the tenant's time zone, Location:
	// in them, the notification waits.
	QuietHours *QuietHours
	Location   *time.Location
}

// DeliveryAttempt is how one attempt to send a notification went, for
// the channel's delivery log.
type DeliveryAttempt struct {
	EventID string        `json:"event_id"`
	At      time.Time     `json:"at"`
	Status  int           `json:"status"` // the HTTP status; 250 for mail accepted, 0 for no answer
	Latency time.Duration `json:"latency_ns"`
	Error   string        `json:"error,omitempty"`
	// Test marks a test delivery, asked for by a member.
	Test bool `json:"test,omitempty"`
}

// ChannelTester sends a channel a test notification now, so a tenant sees
// that its webhook or mailbox is reached before an alarm depends on it.
// The tenant is taken from the context.
type ChannelTester interface {
	// TestChannel sends channel id (on or off) a test event, logs the
	// attempt in its delivery log and returns it: an attempt that failed
	// is no error, its Error says why. A test counts toward the plan's
	// notifications an hour. ENotFound; ERateLimited past that limit.
	TestChannel(ctx context.Context, id string) (*DeliveryAttempt, error)
}

// Outbox is the tenant's notifications waiting to be sent. The tenant is
// taken from the context. The dispatcher, holding its lease, is its only
// caller.
type Outbox interface {
	// DueNotifications returns up to limit notifications due at now, the
	// oldest first, of enabled channels.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]*Notification, error)
	// Delivered records n sent, with the attempt that sent it.
	Delivered(ctx context.Context, n *Notification, a DeliveryAttempt) error
	// Failed records attempt a at n failed: n is tried again at retryAt,
	// unless giveUp; disable turns the channel off for failing too long,
	// saying why.
	Failed(ctx context.Context, n *Notification, a DeliveryAttempt, retryAt time.Time, giveUp bool, disable string) error
	// Defer makes n due at until: its rule's quiet hours end then.
	Defer(ctx context.Context, n *Notification, until time.Time) error
	// Pending reports the time the tenant's next notification is due, and
	// whether any is waiting.
	Pending(ctx context.Context) (time.Time, bool, error)
	// TestNotification returns a test event, new, at at, to send to
	// channel id, on or off, now; it is in no outbox. ENotFound.
	TestNotification(ctx context.Context, id string, at time.Time) (*Notification, error)
	// Tested logs the attempt a at the test notification n in its
	// channel's delivery log; whether the channel is failing is its
	// alarms' notifications' to say.
	Tested(ctx context.Context, n *Notification, a DeliveryAttempt) error
}
