package broker

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
)

// storeTelemetry meters, paces, decodes and stores one telemetry message
// that device d, held by tenant t, sent as principal p, whichever broker
// it came through: nil once its points are committed. tell says the
// sender can be told it is over a rate (MQTT 5); otherwise it waits until
// the rate allows the message. The error's code says why it was not
// stored: EBadRequest, EInvalid or ETooLarge for a payload that never
// will be; EFeatureDisabled, ELimitReached or ERateLimited for a limit of
// the tenant's plan; any other for storage that failed, for now.
func storeTelemetry(points qm.PointIngester, paces *rates.Buckets, meter *usage.Meter, t *qm.Tenant, p *qm.Principal, d *qm.Device, payload []byte, tell bool) error {
	meter.Add(t, qm.MeterMQTTMessages, 1)
	ctx := tenancy.WithPrincipal(tenancy.WithTenant(context.Background(), t), p)
	if err := paced(tell, func() error { return paces.MQTTMessage(t, d.ID) }); err != nil {
		points.Refused("mqtt", err)
		return err
	}
	if err := paced(tell, func() error { return points.Admit(ctx, "mqtt", d.ID) }); err != nil {
		return err
	}
	pts, err := ingest.DecodeBatch(bytes.NewReader(payload), maxPointsPerMessage)
	if err != nil {
		points.Refused("mqtt", err)
		return err
	}
	return paced(tell, func() error { _, err := points.Ingest(ctx, "mqtt", d.ID, pts); return err })
}

// paced runs try until a rate of the tenant's plan no longer refuses it,
// waiting as long as each refusal says, unless the client can be told
// (MQTT 5) or the wait cannot end (more at once than the plan allows).
func paced(tell bool, try func() error) error {
	for {
		err := try()
		var e *qm.Error
		if tell || !errors.As(err, &e) || e.Code != qm.ERateLimited || e.RetryAfter <= 0 {
			return err
		}
		time.Sleep(e.RetryAfter)
	}
}
