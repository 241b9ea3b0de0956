package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/webhook"
	"golang.org/x/time/rate"
)

// TenantSource finds tenants: one by id, for a tenant the evaluator
// pokes, and all of them, for the sweep that finds what waits after a
// restart or on another node's commit.
type TenantSource interface {
	TenantByID(ctx context.Context, id string) (*qm.Tenant, error)
	Tenants(ctx context.Context) ([]*qm.Tenant, error)
}

// Lease takes or renews a lease for holder (catalog.TenantService.TakeLease).
type Lease func(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)

// DispatchConfig is what a Dispatcher needs.
type DispatchConfig struct {
	Outbox  qm.Outbox
	Tenants TenantSource
	// Lease and Holder make one node at a time send: the node holding the
	// lease "notify".
	Lease  Lease
	Holder string
	// Webhooks sends webhooks; Mail e-mail, from From (nil: e-mail
	// channels fail, saying no mail server is set).
	Webhooks *webhook.Client
	Mail     *mail.Sender
	From     string
	// Managers are the addresses told by e-mail when one of the tenant's
	// channels is turned off for failing (SettingsManagers; nil: none).
	Managers func(ctx context.Context) ([]string, error)
	// Backoff is how long to wait before the attempt-th retry (webhook.Backoff).
	Backoff func(attempt int, key string) time.Duration
	// Sweep is how often every tenant's outbox is looked at, for what no
	// poke announced (30 s).
	Sweep time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

// Dispatcher sends the tenants' notifications from their outboxes, each
// until it is delivered or a day has passed: webhooks signed, e-mail
// through the operator's server. A notification is written to the outbox
// with the alarm's change that causes it, so a node killed at any moment
// sends, after its restart (or another node, once it holds the lease),
// every notification not yet acknowledged by its receiver, with the same
// event id: a receiver may see one twice, never none.
type Dispatcher struct {
	cfg DispatchConfig

	mu   sync.Mutex
	due  map[string]time.Time // tenant id → when its next notification is due
	wake chan struct{}
	// paces hold each tenant to its plan's notifications_per_hour, as a
	// token bucket that holds an hour's worth, tests included.
	paces map[string]*pace
}

var _ qm.ChannelTester = (*Dispatcher)(nil)

// pace is a tenant's notification bucket, for the limit it was made for.
type pace struct {
	perHour int64
	bucket  *rate.Limiter
}

// NewDispatcher returns a Dispatcher.
func NewDispatcher(cfg DispatchConfig) *Dispatcher {
	if cfg.Backoff == nil {
		cfg.Backoff = webhook.Backoff
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = 30 * time.Second
	}
	return &Dispatcher{cfg: cfg, due: map[string]time.Time{}, wake: make(chan struct{}, 1), paces: map[string]*pace{}}
}

// Poke says tenant tenantID has notifications due now. It never blocks.
func (d *Dispatcher) Poke(tenantID string) {
	d.schedule(tenantID, time.Time{})
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Raised is the evaluator's callback: each evaluation that caused events
// pokes its tenant.
func (d *Dispatcher) Raised(tenantID string, _ []*qm.AlarmEvent) { d.Poke(tenantID) }

// schedule notes that tenantID has a notification due at at, the earlier
// of what it had.
func (d *Dispatcher) schedule(tenantID string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur, ok := d.due[tenantID]; !ok || at.Before(cur) {
		d.due[tenantID] = at
	}
}

// Run sends notifications until ctx ends, while this node holds the lease.
func (d *Dispatcher) Run(ctx context.Context) error {
	sweep := time.NewTicker(d.cfg.Sweep)
	defer sweep.Stop()
	held := false
	for {
		ok, err := d.cfg.Lease(ctx, "notify", d.cfg.Holder, 2*d.cfg.Sweep)
		switch {
		case err != nil && ctx.Err() == nil:
			d.cfg.Log.Error("notify: lease", "err", err)
		case ok && !held:
			d.sweepAll(ctx) // what waits from before this node held it
		}
		if held = ok; held {
			d.sendDue(ctx)
		}
		timer := time.NewTimer(d.untilNext())
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-sweep.C:
			if held {
				d.sweepAll(ctx)
			}
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// untilNext is how long until the next tenant's notification is due,
// at most a sweep away.
func (d *Dispatcher) untilNext() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	wait := d.cfg.Sweep
	now := d.cfg.Now()
	for _, at := range d.due {
		wait = min(wait, max(0, at.Sub(now)))
	}
	return wait
}

// sweepAll schedules every tenant with notifications waiting.
func (d *Dispatcher) sweepAll(ctx context.Context) {
	ts, err := d.cfg.Tenants.Tenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Log.Error("notify: list tenants", "err", err)
		}
		return
	}
	for _, t := range ts {
		if t.State != qm.StateActive {
			continue
		}
		at, ok, err := d.cfg.Outbox.Pending(tenancy.WithTenant(ctx, t))
		if err != nil {
			d.cfg.Log.Warn("notify: pending notifications", "tenant", t.Slug, "err", err)
			continue
		}
		if ok {
			d.schedule(t.ID, at)
		}
	}
}

// sendDue sends the notifications of every tenant due now.
func (d *Dispatcher) sendDue(ctx context.Context) {
	now := d.cfg.Now()
	d.mu.Lock()
	var ready []string
	for id, at := range d.due {
		if !at.After(now) {
			ready = append(ready, id)
			delete(d.due, id)
		}
	}
	d.mu.Unlock()
	for _, id := range ready {
		if ctx.Err() != nil {
			return
		}
		t, err := d.cfg.Tenants.TenantByID(ctx, id)
		if err != nil {
			d.cfg.Log.Warn("notify: tenant", "tenant_id", id, "err", err)
			continue
		}
		d.sendTenant(tenancy.WithTenant(ctx, t), t)
	}
}

// maxBatch bounds the notifications of a tenant sent before the next
// tenant's turn.
const maxBatch = 100

// sendTenant sends tenant t's due notifications, and schedules its next.
func (d *Dispatcher) sendTenant(ctx context.Context, t *qm.Tenant) {
	outbox := d.cfg.Outbox
	ns, err := outbox.DueNotifications(ctx, d.cfg.Now(), maxBatch)
	if err != nil {
		d.cfg.Log.Warn("notify: due notifications", "tenant", t.Slug, "err", err)
		return
	}
	off := map[string]bool{} // channels turned off in this batch: the rest of theirs wait
	for _, n := range ns {
		if ctx.Err() != nil {
			return
		}
		if off[n.Channel.ID] {
			continue
		}
		if q := n.QuietHours; q != nil && q.Contains(d.cfg.Now(), n.Location) {
			// The rule's quiet hours: it waits for their end.
			until := q.End(d.cfg.Now(), n.Location)
			if err := outbox.Defer(ctx, n, until); err != nil {
				d.cfg.Log.Warn("notify: defer", "tenant", t.Slug, "event_id", n.Event.ID, "err", err)
			}
			continue
		}
		if wait := d.take(t); wait > 0 {
			// Past the plan's notifications an hour: the rest wait their
			// turn, never dropped.
			d.schedule(t.ID, d.cfg.Now().Add(wait))
			return
		}
		a := d.deliver(ctx, t, n)
		if a.Error == "" {
			err = outbox.Delivered(ctx, n, a)
		} else {
			off[n.Channel.ID], err = d.failed(ctx, t, outbox, n, a)
		}
		if err != nil {
			d.cfg.Log.Warn("notify: record delivery", "tenant", t.Slug, "event_id", n.Event.ID, "err", err)
		}
	}
	if at, ok, err := outbox.Pending(ctx); err == nil && ok {
		d.schedule(t.ID, at)
	}
}

// take takes one of tenant t's notifications an hour, and says how long
// to wait instead when none is left (0: send it).
func (d *Dispatcher) take(t *qm.Tenant) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paceOf(t).wait(d.cfg.Now())
}

// paceOf returns tenant t's bucket, made anew when its limit changed.
// d.mu is held.
func (d *Dispatcher) paceOf(t *qm.Tenant) *pace {
	perHour := t.Limits.NotificationsPerHour()
	p := d.paces[t.ID]
	if p == nil || p.perHour != perHour {
		p = &pace{perHour: perHour}
		if perHour > 0 {
			p.bucket = rate.NewLimiter(rate.Limit(float64(perHour)/3600), int(perHour))
		}
		d.paces[t.ID] = p
	}
	return p
}

// wait takes a notification's token at now, and says how long to wait
// instead when there is none (0: send it).
func (p *pace) wait(now time.Time) time.Duration {
	if p.bucket == nil {
		return 0
	}
	r := p.bucket.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return delay
	}
	return 0
}

// failed records a failed attempt: retried after its backoff, given up a
// day after the event, and the channel turned off once it has failed for
// a day, which tenant t's managers are told, and failed reports.
func (d *Dispatcher) failed(ctx context.Context, t *qm.Tenant, outbox qm.Outbox, n *qm.Notification, a qm.DeliveryAttempt) (bool, error) {
	now := d.cfg.Now()
	giveUp := now.Sub(n.Since) >= webhook.GiveUpAfter
	disable := ""
	if n.Channel.FailingSince != nil && webhook.ShouldDisable(*n.Channel.FailingSince, now) {
		disable = fmt.Sprintf("every delivery since %s failed; the last: %s", n.Channel.FailingSince.Format(time.RFC3339), a.Error)
	}
	if err := outbox.Failed(ctx, n, a, now.Add(d.cfg.Backoff(n.Attempts+1, n.Event.ID)), giveUp, disable); err != nil || disable == "" {
		return false, err
	}
	d.tellDisabled(ctx, t, n.Channel, disable)
	return true, nil
}

// tellDisabled e-mails tenant t's managers that channel ch was turned off,
// and why. The channel's page and the audit log say so too, so a mail
// that fails is logged, not retried.
func (d *Dispatcher) tellDisabled(ctx context.Context, t *qm.Tenant, ch *qm.Channel, why string) {
	if d.cfg.Mail == nil || d.cfg.Managers == nil {
		return
	}
	to, err := d.cfg.Managers(ctx)
	if err == nil && len(to) > 0 {
		text := fmt.Sprintf("Quartermaster turned off the notification channel %q of %s: %s.\n\nThe alarms of the rules that name it are no longer sent to it. "+
			"Once its receiver works, send it a test and turn it on again (Notification channels, %s, Edit).\n", ch.Name, t.Name, why, ch.Name)
		body := fmt.Sprintf("<p>Quartermaster turned off the notification channel <strong>%s</strong> of %s: %s.</p><p>The alarms of the rules that name it are no longer sent to it. "+
			"Once its receiver works, send it a test and turn it on again (Notification channels, %s, Edit).</p>",
			html.EscapeString(ch.Name), html.EscapeString(t.Name), html.EscapeString(why), html.EscapeString(ch.Name))
		err = d.cfg.Mail.Send(ctx, mail.Message{From: d.cfg.From, To: to, Subject: fmt.Sprintf("[%s] channel %s turned off", t.Slug, ch.Name), Text: text, HTML: body})
	}
	if err != nil {
		d.cfg.Log.Warn("notify: tell the managers of a channel turned off", "tenant", t.Slug, "channel", ch.ID, "err", err)
	}
}

// TestChannel implements qm.ChannelTester: it sends at once, on any
// node, whichever holds the lease.
func (d *Dispatcher) TestChannel(ctx context.Context, id string) (*qm.DeliveryAttempt, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	n, err := d.cfg.Outbox.TestNotification(ctx, id, d.cfg.Now())
	if err != nil {
		return nil, err
	}
	if wait := d.take(t); wait > 0 {
		e := qm.Errorf(qm.ERateLimited, "the tenant's plan allows %d notifications an hour, tests included, and they are sent; try again in %s",
			t.Limits.NotificationsPerHour(), wait.Round(time.Second))
		e.RetryAfter = wait
		return nil, e
	}
	a := d.deliver(ctx, t, n)
	if err := d.cfg.Outbox.Tested(ctx, n, a); err != nil {
		return nil, err
	}
	a.Test = true
	return &a, nil
}

// Payload is the JSON body of a webhook, and what an e-mail says.
type Payload struct {
	ID string `json:"id"` // the event's: the same on every retry
	// Type is alarm.raised, alarm.repeated or alarm.cleared, or
	// channel.test for a test a member sent.
	Type   string         `json:"type"`
	Tenant string         `json:"tenant"`
	Event  *qm.AlarmEvent `json:"event"`
}

// deliver makes one attempt at n.
func (d *Dispatcher) deliver(ctx context.Context, t *qm.Tenant, n *qm.Notification) qm.DeliveryAttempt {
	p := Payload{ID: n.Event.ID, Type: "alarm." + n.Event.Kind, Tenant: t.Slug, Event: n.Event}
	if n.Event.Kind == qm.EventTest {
		p.Type = "channel.test"
	}
	switch n.Channel.Kind {
	case qm.ChannelWebhook:
		body, err := json.Marshal(p)
		if err != nil {
			return qm.DeliveryAttempt{EventID: n.Event.ID, At: d.cfg.Now(), Error: err.Error()}
		}
		a := d.cfg.Webhooks.Deliver(ctx, n.Channel.URL, []byte(n.Secret), n.Event.ID, body)
		out := qm.DeliveryAttempt{EventID: n.Event.ID, At: a.At, Status: a.Status, Latency: a.Latency}
		if a.Err != nil {
			out.Error = a.Err.Error()
		}
		return out
	case qm.ChannelEmail:
		at, start := d.cfg.Now(), time.Now()
		out := qm.DeliveryAttempt{EventID: n.Event.ID, At: at}
		if d.cfg.Mail == nil {
			out.Error = "no mail server: the operator sets one with --smtp-url"
			return out
		}
		err := d.cfg.Mail.Send(ctx, message(d.cfg.From, n.Channel, p))
		out.Latency = time.Since(start)
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Status = 250
		}
		return out
	}
	return qm.DeliveryAttempt{EventID: n.Event.ID, At: d.cfg.Now(), Error: fmt.Sprintf("unknown channel kind %q", n.Channel.Kind)}
}

// message is the e-mail to channel ch telling p.
func message(from string, ch *qm.Channel, p Payload) mail.Message {
	ev := p.Event
	if ev.Kind == qm.EventTest {
		text := fmt.Sprintf("This is a test of the channel %q of %s in Quartermaster: the alarms of the rules that name it arrive here.\n\nEvent %s.\n",
			ch.Name, p.Tenant, ev.ID)
		htmlBody := fmt.Sprintf("<p>This is a test of the channel <strong>%s</strong> of %s in Quartermaster: the alarms of the rules that name it arrive here.</p><p>Event %s.</p>",
			html.EscapeString(ch.Name), html.EscapeString(p.Tenant), html.EscapeString(ev.ID))
		return mail.Message{From: from, To: ch.Emails, Subject: fmt.Sprintf("[%s] test of %s", p.Tenant, ch.Name), Text: text, HTML: htmlBody}
	}
	// The subject by its name where it has one, and always by its id.
	subject := ev.SubjectType + " " + ev.SubjectID
	if ev.SubjectName != "" {
		subject = fmt.Sprintf("%s %s (%s)", ev.SubjectType, ev.SubjectName, ev.SubjectID)
	}
	title := fmt.Sprintf("[%s] %s %s: %s", p.Tenant, ev.Severity, ev.Kind, ev.RuleName)
	if ev.SubjectName != "" {
		title += ", " + ev.SubjectName
	}
	text := fmt.Sprintf("Rule %q (%s) %s the alarm of %s at %s.\n\nEvent %s, alarm %s, tenant %s.\n",
		ev.RuleName, ev.Severity, ev.Kind, subject, ev.At.Format(time.RFC3339), ev.ID, ev.AlarmID, p.Tenant)
	htmlBody := fmt.Sprintf("<p>Rule <strong>%s</strong> (%s) %s the alarm of %s at %s.</p><p>Event %s, alarm %s, tenant %s.</p>",
		html.EscapeString(ev.RuleName), html.EscapeString(string(ev.Severity)), html.EscapeString(ev.Kind), html.EscapeString(subject),
		ev.At.Format(time.RFC3339), html.EscapeString(ev.ID), html.EscapeString(ev.AlarmID), html.EscapeString(p.Tenant))
	return mail.Message{From: from, To: ch.Emails, Subject: title, Text: text, HTML: htmlBody}
}
