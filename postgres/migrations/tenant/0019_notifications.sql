-- Where rules send their alarms' events: webhooks and e-mail. A webhook's
-- signing secret is kept as is: the server signs each delivery with it, so
-- it cannot be a hash (it is shown to the tenant once, and never served).
CREATE TABLE channels (
	tenant_id       uuid NOT NULL,
	id              uuid NOT NULL,
	name            text NOT NULL,
	kind            text NOT NULL,
	enabled         boolean NOT NULL,
	url             text NOT NULL DEFAULT '',
	emails          text NOT NULL DEFAULT '',
	secret          text NOT NULL DEFAULT '',
	failing_since   timestamptz,
	disabled_reason text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);

-- The channels each rule sends to.
CREATE TABLE rule_channels (
	tenant_id  uuid NOT NULL,
	rule_id    uuid NOT NULL,
	channel_id uuid NOT NULL,
	PRIMARY KEY (tenant_id, rule_id, channel_id),
	FOREIGN KEY (tenant_id, rule_id) REFERENCES rules (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX rule_channels_channel ON rule_channels (tenant_id, channel_id);

-- The outbox: a row per event and channel, written in the transaction of
-- the alarm's change, and sent by the dispatcher until it is delivered or
-- given up.
CREATE TABLE outbox (
	tenant_id    uuid NOT NULL,
	event_id     uuid NOT NULL,
	channel_id   uuid NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	due_at       timestamptz NOT NULL,
	created_at   timestamptz NOT NULL,
	delivered_at timestamptz,
	given_up_at  timestamptz,
	PRIMARY KEY (tenant_id, event_id, channel_id),
	FOREIGN KEY (tenant_id, event_id) REFERENCES alarm_events (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX outbox_due ON outbox (tenant_id, due_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- Every attempt at a delivery: the channel's delivery log.
CREATE TABLE deliveries (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	channel_id uuid NOT NULL,
	event_id   uuid NOT NULL,
	at         timestamptz NOT NULL,
	status     integer NOT NULL,
	latency_us bigint NOT NULL,
	error      text NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX deliveries_channel ON deliveries (tenant_id, channel_id, at);

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON channels
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON channels TO qm_serving;

ALTER TABLE rule_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rule_channels
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_channels TO qm_serving;

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO qm_serving;

ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deliveries
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON deliveries TO qm_serving;
