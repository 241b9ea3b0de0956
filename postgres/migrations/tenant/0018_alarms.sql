-- What evaluating each rule for each subject (a device, an asset) remembers
-- between observations (qm.RuleState, JSON), so evaluation resumes after a
-- restart where it stopped. It goes with its rule.
CREATE TABLE rule_states (
	tenant_id  uuid NOT NULL,
	rule_id    uuid NOT NULL,
	subject_id uuid NOT NULL,
	state      text NOT NULL,
	PRIMARY KEY (tenant_id, rule_id, subject_id),
	FOREIGN KEY (tenant_id, rule_id) REFERENCES rules (tenant_id, id) ON DELETE CASCADE
);

-- Alarms: at most one open (not cleared) per rule and subject. An alarm
-- outlives its rule, whose name it keeps.
CREATE TABLE alarms (
	tenant_id       uuid NOT NULL,
	id              uuid NOT NULL,
	rule_id         uuid NOT NULL,
	rule_name       text NOT NULL,
	severity        text NOT NULL,
	department_id   uuid,
	subject_type    text NOT NULL,
	subject_id      uuid NOT NULL,
	first_at        timestamptz NOT NULL,
	last_at         timestamptz NOT NULL,
	repeats         bigint NOT NULL DEFAULT 0,
	acknowledged_by text,
	acknowledged_at timestamptz,
	cleared_at      timestamptz,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alarms_open ON alarms (tenant_id, rule_id, subject_id) WHERE cleared_at IS NULL;
CREATE INDEX alarms_recent ON alarms (tenant_id, first_at);

-- Every change of an alarm, kept with the tenant's retention.
CREATE TABLE alarm_events (
	tenant_id uuid NOT NULL,
	id        uuid NOT NULL,
	alarm_id  uuid NOT NULL,
	kind      text NOT NULL,
	at        timestamptz NOT NULL,
	by_name   text NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, alarm_id) REFERENCES alarms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_events_alarm ON alarm_events (tenant_id, alarm_id);

ALTER TABLE rule_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_states FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rule_states
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_states TO qm_serving;

ALTER TABLE alarms ENABLE ROW LEVEL SECURITY;
ALTER TABLE alarms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alarms
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON alarms TO qm_serving;

ALTER TABLE alarm_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE alarm_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alarm_events
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON alarm_events TO qm_serving;
