-- What evaluating each rule for each subject (a device, an asset) remembers
-- between observations (qm.RuleState, JSON), so evaluation resumes after a
-- restart where it stopped. It goes with its rule.
CREATE TABLE rule_states (
	tenant_id  TEXT NOT NULL,
	rule_id    TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	state      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, rule_id, subject_id),
	FOREIGN KEY (tenant_id, rule_id) REFERENCES rules (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Alarms: at most one open (not cleared) per rule and subject. An alarm
-- outlives its rule, whose name it keeps.
CREATE TABLE alarms (
	tenant_id       TEXT NOT NULL,
	id              TEXT NOT NULL,
	rule_id         TEXT NOT NULL,
	rule_name       TEXT NOT NULL,
	severity        TEXT NOT NULL,
	department_id   TEXT,
	subject_type    TEXT NOT NULL,
	subject_id      TEXT NOT NULL,
	first_at        TIMESTAMP NOT NULL,
	last_at         TIMESTAMP NOT NULL,
	repeats         INTEGER NOT NULL DEFAULT 0,
	acknowledged_by TEXT,
	acknowledged_at TIMESTAMP,
	cleared_at      TIMESTAMP,
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX alarms_open ON alarms (tenant_id, rule_id, subject_id) WHERE cleared_at IS NULL;
CREATE INDEX alarms_recent ON alarms (tenant_id, first_at);

-- Every change of an alarm, kept with the tenant's retention.
CREATE TABLE alarm_events (
	tenant_id TEXT NOT NULL,
	id        TEXT NOT NULL,
	alarm_id  TEXT NOT NULL,
	kind      TEXT NOT NULL,
	at        TIMESTAMP NOT NULL,
	by_name   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, alarm_id) REFERENCES alarms (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX alarm_events_alarm ON alarm_events (tenant_id, alarm_id);
