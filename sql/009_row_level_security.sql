-- 009: roles and row-level security (SPEC §3.1): need to know.
--
-- A lawyer sees and acts on the clients, invoices, payments, reminders and
-- audit rows of the clients whose lawyer has db_role = current_user, and on
-- nothing else, whichever way they ask: tables, the report views (which run
-- as their caller), COPY, or the lawyers' functions.  The accountant reads
-- everything and writes nothing; the daemon reads everything and writes
-- what it writes (reminders, escalated_at, audit rows), never an audit row
-- twice; the administrator (the firm's software, the operator) keeps every
-- right on the input tables.
--
-- Two identities, on purpose:
--  - the table policies compare with current_user (SPEC §3.1).  Inside a
--    SECURITY DEFINER function current_user is the owner, whose own policy
--    lets the function see every row: so
--  - every SECURITY DEFINER function a lawyer can call checks the caller
--    itself, by session_user (the login, which is also the audit actor),
--    through dunning.my_client().  A file that is not the caller's is
--    reported exactly as an unknown one: a lawyer must not learn that
--    another lawyer's invoice, reminder or client exists.
--
-- FORCE ROW LEVEL SECURITY makes the policies apply to the tables' owner
-- too (a superuser still bypasses them).  The owner's policy, TO
-- CURRENT_USER (resolved when this migration runs, i.e. to the migrating
-- role that owns the tables), lets the SECURITY DEFINER functions and
-- triggers, which run as the owner, keep working when the owner is not a
-- superuser.
--
-- The one clock: dunning.now honours the session setting dunning.now only
-- for the staff (superuser, dunning_admin, dunning_daemon), or when the
-- operator has switched on replays for everyone (dunning.setting
-- simulated_clock = allowed); otherwise it is the real clock, so a lawyer
-- cannot date their own audit rows.
--
-- The functions are in functions/identity.sql (is_staff, my_client,
-- simulated_clock_allowed), base/clock.sql (now) and
-- functions/lawyer_actions.sql; the reports (views/reports.sql) are
-- created with security_invoker and SECURITY INVOKER, which this
-- migration relies on.

-- ------------------------------------------------- row-level security --

ALTER TABLE dunning.client ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.client FORCE ROW LEVEL SECURITY;
ALTER TABLE dunning.invoice ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.invoice FORCE ROW LEVEL SECURITY;
ALTER TABLE dunning.payment ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.payment FORCE ROW LEVEL SECURITY;
ALTER TABLE dunning.reminder ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.reminder FORCE ROW LEVEL SECURITY;
ALTER TABLE dunning.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.audit_log FORCE ROW LEVEL SECURITY;

-- The lawyer's rows.  current_user's lawyer id is one InitPlan (db_role
-- is unique), their clients' ids one array, both computed once per query
-- through the indexes (client_lawyer_idx, invoice_client_idx); a table
-- under an invoice is filtered by a hashed subquery of the invoice ids, a
-- probe per row: no function call per row.
CREATE POLICY client_lawyer ON dunning.client FOR SELECT TO dunning_lawyer
	USING (lawyer_id = (SELECT l.id FROM dunning.lawyer l WHERE l.db_role = current_user));
CREATE POLICY invoice_lawyer ON dunning.invoice FOR SELECT TO dunning_lawyer
	USING (client_id = ANY (ARRAY(
		SELECT c.id FROM dunning.client c
		WHERE c.lawyer_id = (SELECT l.id FROM dunning.lawyer l
		                     WHERE l.db_role = current_user))));
CREATE POLICY payment_lawyer ON dunning.payment FOR SELECT TO dunning_lawyer
	USING (invoice_id IN (
		SELECT i.id FROM dunning.invoice i
		WHERE i.client_id = ANY (ARRAY(
			SELECT c.id FROM dunning.client c
			WHERE c.lawyer_id = (SELECT l.id FROM dunning.lawyer l
			                     WHERE l.db_role = current_user)))));
CREATE POLICY reminder_lawyer ON dunning.reminder FOR SELECT TO dunning_lawyer
	USING (invoice_id IN (
		SELECT i.id FROM dunning.invoice i
		WHERE i.client_id = ANY (ARRAY(
			SELECT c.id FROM dunning.client c
			WHERE c.lawyer_id = (SELECT l.id FROM dunning.lawyer l
			                     WHERE l.db_role = current_user)))));
-- Audit rows of the lawyer's invoices, and those about one of the
-- lawyer's clients as a whole (a client's pause: details.client_id).
CREATE POLICY audit_log_lawyer ON dunning.audit_log FOR SELECT TO dunning_lawyer
	USING (invoice_id IN (
		SELECT i.id FROM dunning.invoice i
		WHERE i.client_id = ANY (ARRAY(
			SELECT c.id FROM dunning.client c
			WHERE c.lawyer_id = (SELECT l.id FROM dunning.lawyer l
			                     WHERE l.db_role = current_user))))
	    OR details ->> 'client_id' IN (
		SELECT c.id::text FROM dunning.client c
		WHERE c.lawyer_id = (SELECT l.id FROM dunning.lawyer l
		                     WHERE l.db_role = current_user)));

-- The accountant and the daemon read everything; the administrator reads
-- the daemon's tables.
CREATE POLICY client_read ON dunning.client FOR SELECT
	TO dunning_accountant, dunning_daemon USING (true);
CREATE POLICY invoice_read ON dunning.invoice FOR SELECT
	TO dunning_accountant, dunning_daemon USING (true);
CREATE POLICY payment_read ON dunning.payment FOR SELECT
	TO dunning_accountant, dunning_daemon USING (true);
CREATE POLICY reminder_read ON dunning.reminder FOR SELECT
	TO dunning_accountant, dunning_daemon, dunning_admin USING (true);
CREATE POLICY audit_log_read ON dunning.audit_log FOR SELECT
	TO dunning_accountant, dunning_daemon, dunning_admin USING (true);

-- What the daemon writes (pipeline/): reminders (planned, held,
-- claimed, recorded; also SELECT ... FOR UPDATE, which needs an UPDATE
-- policy), the invoice's escalated_at (the only invoice column it may
-- update; the planner and the sender also lock invoices FOR UPDATE), and
-- audit rows.
CREATE POLICY reminder_daemon_insert ON dunning.reminder FOR INSERT
	TO dunning_daemon WITH CHECK (true);
CREATE POLICY reminder_daemon_update ON dunning.reminder FOR UPDATE
	TO dunning_daemon USING (true) WITH CHECK (true);
CREATE POLICY invoice_daemon_update ON dunning.invoice FOR UPDATE
	TO dunning_daemon USING (true) WITH CHECK (true);
CREATE POLICY audit_log_daemon_insert ON dunning.audit_log FOR INSERT
	TO dunning_daemon WITH CHECK (true);

-- The administrator: every right on the input tables (its grants say which).
CREATE POLICY client_admin ON dunning.client TO dunning_admin USING (true) WITH CHECK (true);
CREATE POLICY invoice_admin ON dunning.invoice TO dunning_admin USING (true) WITH CHECK (true);
CREATE POLICY payment_admin ON dunning.payment TO dunning_admin USING (true) WITH CHECK (true);

-- The owner: the SECURITY DEFINER functions and triggers run as it.
CREATE POLICY client_owner ON dunning.client TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY invoice_owner ON dunning.invoice TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY payment_owner ON dunning.payment TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY reminder_owner ON dunning.reminder TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY audit_log_owner ON dunning.audit_log TO CURRENT_USER USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------- grants --

-- Lawyers and the accountant read; lawyers act only through the functions.
-- TRUNCATE would also ignore the policies: nobody but the owner has it.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA dunning
	FROM dunning_lawyer, dunning_accountant;
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA dunning
	FROM dunning_daemon, dunning_admin;
-- Rule 10: no role updates or deletes an audit row (the guard of 006
-- refuses it anyway; this refuses it before it gets there).
REVOKE UPDATE, DELETE, TRUNCATE ON dunning.audit_log
	FROM PUBLIC, dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
-- The operator switches replays on and off (simulated_clock).
GRANT INSERT, UPDATE, DELETE ON dunning.setting TO dunning_admin;
