-- How far each member has read the alarms' events in the console: the
-- newest event id read (ids grow in the order events are written).
CREATE TABLE notification_reads (
	tenant_id     uuid NOT NULL,
	user_id       uuid NOT NULL,
	last_event_id uuid NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);

ALTER TABLE notification_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_reads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_reads
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_reads TO qm_serving;
