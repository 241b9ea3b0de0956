-- Where rules send their alarms' events: webhooks and e-mail. A webhook's
-- signing secret is kept as is: the server signs each delivery with it, so
-- it cannot be a hash (it is shown to the tenant once, and never served).
CREATE TABLE channels (
	tenant_id       TEXT NOT NULL,
	id              TEXT NOT NULL,
	name            TEXT NOT NULL,
	kind            TEXT NOT NULL,
	enabled         BOOLEAN NOT NULL,
	url             TEXT NOT NULL DEFAULT '',
	emails          TEXT NOT NULL DEFAULT '',
	secret          TEXT NOT NULL DEFAULT '',
	failing_since   TIMESTAMP,
	disabled_reason TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

-- The channels each rule sends to.
CREATE TABLE rule_channels (
	tenant_id  TEXT NOT NULL,
	rule_id    TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, rule_id, channel_id),
	FOREIGN KEY (tenant_id, rule_id) REFERENCES rules (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX rule_channels_channel ON rule_channels (tenant_id, channel_id);

-- The outbox: a row per event and channel, written in the transaction of
-- the alarm's change, and sent by the dispatcher until it is delivered or
-- given up.
CREATE TABLE outbox (
	tenant_id    TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	channel_id   TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	due_at       TIMESTAMP NOT NULL,
	created_at   TIMESTAMP NOT NULL,
	delivered_at TIMESTAMP,
	given_up_at  TIMESTAMP,
	PRIMARY KEY (tenant_id, event_id, channel_id),
	FOREIGN KEY (tenant_id, event_id) REFERENCES alarm_events (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox (tenant_id, due_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- Every attempt at a delivery: the channel's delivery log.
CREATE TABLE deliveries (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	event_id   TEXT NOT NULL,
	at         TIMESTAMP NOT NULL,
	status     INTEGER NOT NULL,
	latency_us INTEGER NOT NULL,
	error      TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX deliveries_channel ON deliveries (tenant_id, channel_id, at);
