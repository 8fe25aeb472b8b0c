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

-- ------------------------------------------------------------ identity --

-- Is the login (session_user) staff: a superuser, or a member of
-- dunning_admin or dunning_daemon (pg_has_role's MEMBER is true for a
-- superuser)?  session_user, not current_user: inside a SECURITY DEFINER
-- function current_user is the owner.  Every name is qualified and the
-- search_path is not pinned, so that the function is inlined: dunning.now()
-- asks it for every row of a replay's queries.
CREATE FUNCTION dunning.is_staff() RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT pg_catalog.pg_has_role(session_user, 'dunning_daemon', 'MEMBER')
	    OR pg_catalog.pg_has_role(session_user, 'dunning_admin', 'MEMBER')
$$;

-- May the login act on client P_CLIENT: staff, or the client's lawyer logs
-- in as session_user.  Definer's rights, so that the answer does not depend
-- on what the caller's own policies let it read; false for an unknown
-- client unless staff (the callers check existence first).
CREATE FUNCTION dunning.my_client(p_client bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
	SELECT dunning.is_staff() OR EXISTS (
		SELECT 1 FROM dunning.client c JOIN dunning.lawyer l ON l.id = c.lawyer_id
		WHERE c.id = p_client AND l.db_role = session_user)
$$;

-- ----------------------------------------------------------- the clock --

-- Has the operator allowed every role's dunning.now to move the clock
-- (replays and demonstrations)?  Definer's rights: dunning.setting is read
-- whoever runs the function.
CREATE FUNCTION dunning.simulated_clock_allowed() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
	SELECT EXISTS (SELECT 1 FROM dunning.setting
	               WHERE key = 'simulated_clock' AND value = 'allowed')
$$;

-- The one clock (SPEC §3.1), as in 001 for the staff.  Still inlined into
-- the queries that call it, as 001's was: an unset setting (production)
-- costs what it did, a staff session's replay two role look-ups more, and
-- only a lawyer's or the accountant's session with the setting set reads
-- the operator's switch.
CREATE OR REPLACE FUNCTION dunning.now() RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN coalesce(current_setting('dunning.now', true), '') = ''
	            THEN clock_timestamp()
	            WHEN dunning.is_staff() OR dunning.simulated_clock_allowed()
	            THEN current_setting('dunning.now', true)::timestamptz
	            ELSE clock_timestamp() END
$$;

COMMENT ON FUNCTION dunning.now() IS
'The one clock: the session setting dunning.now when it is set and the login is staff (superuser, dunning_admin, dunning_daemon) or dunning.setting simulated_clock = allowed (replays and demonstrations; off by default); the real clock otherwise.';

-- --------------------------------------------- the lawyers' functions --

-- Find an invoice by number and lock it for the caller's transaction.  An
-- invoice of another lawyer's client gets the very error of an unknown
-- number, raised by the same statement, and is not locked (a lock wait
-- would tell that it exists).
CREATE OR REPLACE FUNCTION dunning.invoice_for_update(p_number text) RETURNS dunning.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv dunning.invoice;
BEGIN
	SELECT * INTO inv FROM dunning.invoice WHERE number = p_number;
	IF NOT FOUND OR NOT dunning.my_client(inv.client_id) THEN
		RAISE EXCEPTION 'no invoice numbered "%"', p_number
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.lock_invoice(inv.id);
	SELECT * INTO inv FROM dunning.invoice WHERE id = inv.id FOR UPDATE;
	RETURN inv;
END
$$;

-- Lock a reminder in one of STATES and its invoice, or say why not.  A
-- reminder of another lawyer's client is unknown, whatever its state.
CREATE OR REPLACE FUNCTION dunning.reminder_in(p_reminder bigint, p_states text[])
RETURNS dunning.reminder
LANGUAGE plpgsql AS $$
DECLARE
	rem dunning.reminder;
	cli bigint;
BEGIN
	SELECT * INTO rem FROM dunning.reminder WHERE id = p_reminder;
	SELECT client_id INTO cli FROM dunning.invoice WHERE id = rem.invoice_id;
	IF cli IS NULL OR NOT dunning.my_client(cli) THEN
		RAISE EXCEPTION 'no reminder with id %', p_reminder
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.lock_invoice(rem.invoice_id);
	SELECT * INTO rem FROM dunning.reminder WHERE id = p_reminder FOR UPDATE;
	IF NOT rem.state = ANY (p_states) THEN
		RAISE EXCEPTION 'reminder % is %, not %', p_reminder, rem.state,
			array_to_string(p_states, ' or ') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN rem;
END
$$;

-- SPEC §2 rule 6: no message to this client before UNTIL (NULL lifts it).
-- Another lawyer's client is unknown, and is not locked.
CREATE OR REPLACE FUNCTION dunning.pause_client(client_id bigint, until date, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	why text := dunning.require_text(reason, 'the pause reason');
	cli dunning.client;
BEGIN
	PERFORM dunning.check_pause(until);
	IF NOT EXISTS (SELECT 1 FROM dunning.client c WHERE c.id = pause_client.client_id)
	   OR NOT dunning.my_client(pause_client.client_id) THEN
		RAISE EXCEPTION 'no client with id %', pause_client.client_id
			USING ERRCODE = 'no_data_found';
	END IF;
	SELECT * INTO cli FROM dunning.client c WHERE c.id = pause_client.client_id FOR UPDATE;
	UPDATE dunning.client c SET paused_until = until WHERE c.id = cli.id;
	PERFORM dunning.audit(session_user,
		CASE WHEN until IS NULL THEN 'client_pause_lifted' ELSE 'client_paused' END,
		NULL, NULL, jsonb_build_object('client_id', cli.id, 'until', until,
			'previous', cli.paused_until, 'reason', why));
	PERFORM dunning.wake('pause', NULL, cli.id);
END
$$;

-- The other SECURITY DEFINER functions need no change:
--  - flag_dispute, clear_dispute, pause_invoice (003) find their invoice
--    through invoice_for_update, approve and reject (003, through
--    held_for_update, 007), resend and mark_sent (007) their reminder
--    through reminder_in: each checks the caller above before it reads or
--    changes anything of the file, and audits session_user;
--  - the triggers audit_stamp, audit_chain_at_commit, audit_guard (006) and
--    payment_after (003) cannot be called, only fired by a write to their
--    table, which only the daemon, the administrator and the owner may
--    make; they record session_user as the actor.

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

-- What the daemon writes (lib/store*.c): reminders (planned, held,
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

-- The reports run as their caller, so that a lawyer's figures are the
-- lawyer's files only (005 created the views so; said again here, as this
-- migration is what relies on it).
ALTER VIEW dunning.aging SET (security_invoker = true);
ALTER VIEW dunning.aging_invoices SET (security_invoker = true);
ALTER VIEW dunning.kpi SET (security_invoker = true);
ALTER VIEW dunning.stage_effectiveness SET (security_invoker = true);
ALTER FUNCTION dunning.aging_at(date) SECURITY INVOKER;
ALTER FUNCTION dunning.aging_invoices_at(date) SECURITY INVOKER;
ALTER FUNCTION dunning.dso(integer, date, character) SECURITY INVOKER;
ALTER FUNCTION dunning.kpi_at(date) SECURITY INVOKER;
ALTER FUNCTION dunning.stage_effectiveness_at(date) SECURITY INVOKER;

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

REVOKE EXECUTE ON FUNCTION dunning.my_client(bigint), dunning.simulated_clock_allowed()
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.is_staff(), dunning.my_client(bigint),
	dunning.simulated_clock_allowed()
	TO dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
