-- 011: the lawyers' and operator's tools: registered letters, kept messages, GDPR.
--
-- - dunning.letter_sent records the registered-mail tracking number of a
--   formal notice once it is posted (dunningctl letter-sent);
-- - dunning.message_copy keeps the text of every client message as it left,
--   for the client's access request (dunningctl export-client) and until
--   the purge;
-- - dunning.purge anonymises the clients whose files closed more than the
--   retention period ago (dunningctl purge), and dunning.record_export
--   audits an export.
-- The functions are in functions/lawyer_actions.sql (letter_sent,
-- record_export) and functions/purge.sql; the trigger's in
-- base/invoice_totals.sql.

-- The text part of every client message as it left (letters: their text).
-- Written by the sender once per Message-ID; a retry adds nothing.
CREATE TABLE dunning.message_copy (
	message_id   text PRIMARY KEY,
	client_id    bigint NOT NULL REFERENCES dunning.client (id),
	stage        text NOT NULL,
	reminder_ids bigint[] NOT NULL,
	subject      text,
	body         text NOT NULL,
	kept_at      timestamptz NOT NULL DEFAULT dunning.now()
);
CREATE INDEX message_copy_client_idx ON dunning.message_copy (client_id);

-- Need to know, as in 009: a lawyer reads the copies of their clients'
-- messages; the accountant, the daemon and the administrator read them
-- all; the daemon writes them; the owner (the purge) deletes them.
ALTER TABLE dunning.message_copy ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.message_copy FORCE ROW LEVEL SECURITY;
CREATE POLICY message_copy_lawyer ON dunning.message_copy FOR SELECT TO dunning_lawyer
	USING (client_id IN (SELECT c.id FROM dunning.client c
	                     JOIN dunning.lawyer l ON l.id = c.lawyer_id
	                     WHERE l.db_role = current_user));
CREATE POLICY message_copy_read ON dunning.message_copy FOR SELECT
	TO dunning_accountant, dunning_daemon, dunning_admin USING (true);
CREATE POLICY message_copy_daemon_insert ON dunning.message_copy FOR INSERT
	TO dunning_daemon WITH CHECK (true);
CREATE POLICY message_copy_owner ON dunning.message_copy TO CURRENT_USER
	USING (true) WITH CHECK (true);

-- The audit rows about a client as a whole (pause, export, purge) name it
-- in details.client_id: the export looks them up, and so does the lawyers'
-- policy of 009.
CREATE INDEX audit_log_client_idx ON dunning.audit_log ((details ->> 'client_id'));

-- The day an invoice stopped being owed by its status (cancelled or
-- written off), which the status alone does not tell; NULL while it is
-- open.  The trigger sets it to the firm's today when the status leaves
-- 'open' (or keeps the date the writer gives), moves it when the status
-- changes between the closed ones only if the writer says so, and clears
-- it when the status goes back to 'open'.
--
-- Invoices closed before this migration have no such date: they get the
-- day they were written off when 005 recorded it, else the day this
-- migration runs.  Their retention therefore counts from a day no earlier
-- than the real one: the purge may come late for them, never early.
ALTER TABLE dunning.invoice ADD COLUMN status_closed_on date;
UPDATE dunning.invoice SET status_closed_on = coalesce(written_off_on, dunning.today())
WHERE status <> 'open';
ALTER TABLE dunning.invoice ADD CONSTRAINT invoice_status_closed_on_check
	CHECK ((status = 'open') = (status_closed_on IS NULL));

CREATE TRIGGER invoice_status_closed BEFORE INSERT OR UPDATE OF status, status_closed_on
	ON dunning.invoice FOR EACH ROW EXECUTE FUNCTION dunning.invoice_status_closed();

-- When a client's data was replaced by the purge (not contract).
ALTER TABLE dunning.client ADD COLUMN anonymised_at timestamptz;

GRANT SELECT, INSERT ON dunning.message_copy TO dunning_daemon;
GRANT SELECT ON dunning.message_copy TO dunning_lawyer, dunning_accountant, dunning_admin;
