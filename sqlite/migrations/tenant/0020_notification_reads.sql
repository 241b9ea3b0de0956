-- How far each member has read the alarms' events in the console: the
-- newest event id read (ids grow in the order events are written).
CREATE TABLE notification_reads (
	tenant_id     TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	last_event_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
) WITHOUT ROWID;
