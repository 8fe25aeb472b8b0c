-- 029: the acknowledgement of a payment plan the client proposed from their
-- page (issue 19, SPEC §2 rules 11-12): as client_ack (027) for a report,
-- one row per plan, the daemon's outbox (pipeline/acks.c): claimed
-- 'sending' (committed) before it is handed, so it leaves at most once.
-- Written by dunning.web_plan (functions/selfservice.sql), as its owner.

CREATE TABLE dunning.plan_ack (
	plan_id     bigint PRIMARY KEY REFERENCES dunning.payment_plan (id),
	state       text NOT NULL DEFAULT 'pending'
	            CONSTRAINT plan_ack_state_check
	            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'in_doubt')),
	attempts    integer NOT NULL DEFAULT 0 CONSTRAINT plan_ack_attempts_check
	            CHECK (attempts >= 0),
	next_try_at timestamptz,
	lease_until timestamptz,
	sent_at     timestamptz,
	message_id  text,
	last_error  text
);
CREATE INDEX plan_ack_open_idx ON dunning.plan_ack (plan_id)
	WHERE state IN ('pending', 'sending');
ALTER TABLE dunning.plan_ack ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.plan_ack FORCE ROW LEVEL SECURITY;
CREATE POLICY plan_ack_daemon ON dunning.plan_ack TO dunning_daemon
	USING (true) WITH CHECK (true);
CREATE POLICY plan_ack_read ON dunning.plan_ack FOR SELECT
	TO dunning_accountant, dunning_admin USING (true);
CREATE POLICY plan_ack_owner ON dunning.plan_ack TO CURRENT_USER
	USING (true) WITH CHECK (true);
REVOKE ALL ON dunning.plan_ack FROM PUBLIC;
GRANT SELECT ON dunning.plan_ack TO dunning_accountant, dunning_admin;
GRANT SELECT, UPDATE ON dunning.plan_ack TO dunning_daemon;
