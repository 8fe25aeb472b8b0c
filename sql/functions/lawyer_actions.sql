-- The functions a lawyer calls from psql (SPEC §3.1) and the operator's way
-- out of 'failed' and 'in_doubt' (SPEC §3.5).  Each validates its input,
-- follows the one clock, writes its audit row with the calling role as
-- actor, and wakes the daemon (NOTIFY dunning).  They run as their owner so
-- that the audit chain and the reminder rows stay out of the callers'
-- direct reach, and check the caller themselves, by session_user, through
-- dunning.my_client (009 says why): a file that is not the caller's is
-- reported exactly as an unknown one.  EXECUTE is granted to the lawyer and
-- admin roles only.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- Raise a clear error when TEXT is empty.
CREATE OR REPLACE FUNCTION dunning.require_text(p_text text, p_what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF coalesce(btrim(p_text), '') = '' THEN
		RAISE EXCEPTION '% must not be empty', p_what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN btrim(p_text);
END
$$;

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

-- Lock a held reminder and its invoice (approve, reject), or say why not.
CREATE OR REPLACE FUNCTION dunning.held_for_update(p_reminder bigint) RETURNS dunning.reminder
LANGUAGE sql AS $$
	SELECT dunning.reminder_in(p_reminder, ARRAY['held'])
$$;

-- Cancel the invoice's reminders that have not left, auditing each.
CREATE OR REPLACE FUNCTION dunning.cancel_pending(p_invoice bigint, p_why text, p_actor text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	FOR r IN UPDATE dunning.reminder
	         SET state = 'cancelled', reason = p_why, updated_at = dunning.now()
	         WHERE invoice_id = p_invoice AND state IN ('planned', 'held', 'approved')
	         RETURNING id, stage
	LOOP
		PERFORM dunning.audit(p_actor, 'cancelled', p_invoice, r.id,
			jsonb_build_object('stage', r.stage, 'reason', p_why));
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

-- SPEC §2 rule 4: a dispute stops everything, at once.
CREATE OR REPLACE FUNCTION dunning.flag_dispute(invoice_number text, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the dispute reason');
	inv dunning.invoice := dunning.invoice_for_update(invoice_number);
BEGIN
	IF inv.disputed_at IS NOT NULL THEN
		RAISE EXCEPTION 'invoice "%" is already disputed (since %)', inv.number,
			inv.disputed_at USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE dunning.invoice SET disputed_at = dunning.now(), dispute_reason = why
	WHERE id = inv.id;
	PERFORM dunning.audit(session_user, 'dispute_flagged', inv.id, NULL,
		jsonb_build_object('reason', why));
	PERFORM dunning.cancel_pending(inv.id, 'disputed', session_user);
	PERFORM dunning.wake('dispute', inv.id, inv.client_id);
END
$$;

-- Clear a dispute: the escalation resumes, the next stage not earlier than
-- min_gap_days after now.
CREATE OR REPLACE FUNCTION dunning.clear_dispute(invoice_number text, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(note, 'the note');
	inv dunning.invoice := dunning.invoice_for_update(invoice_number);
BEGIN
	IF inv.disputed_at IS NULL THEN
		RAISE EXCEPTION 'invoice "%" is not disputed', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE dunning.invoice
	SET disputed_at = NULL, dispute_reason = NULL, dispute_cleared_at = dunning.now()
	WHERE id = inv.id;
	PERFORM dunning.audit(session_user, 'dispute_cleared', inv.id, NULL,
		jsonb_build_object('note', why, 'disputed_at', inv.disputed_at,
			'reason', inv.dispute_reason));
	PERFORM dunning.wake('dispute_cleared', inv.id, inv.client_id);
END
$$;

-- Refuse a pause date before today (firm's time zone, one clock).
CREATE OR REPLACE FUNCTION dunning.check_pause(p_until date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_until IS NOT NULL AND p_until < dunning.today() THEN
		RAISE EXCEPTION 'pause date % is in the past (today is %)', p_until,
			dunning.today() USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

-- SPEC §2 rule 6: no message to this client before UNTIL (NULL lifts it).
-- Another lawyer's client is unknown, and is not locked.
CREATE OR REPLACE FUNCTION dunning.pause_client(client_id bigint, until date, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
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

-- SPEC §2 rule 6 for one invoice.
CREATE OR REPLACE FUNCTION dunning.pause_invoice(invoice_number text, until date, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the pause reason');
	inv dunning.invoice;
BEGIN
	PERFORM dunning.check_pause(until);
	inv := dunning.invoice_for_update(invoice_number);
	UPDATE dunning.invoice SET paused_until = until WHERE id = inv.id;
	PERFORM dunning.audit(session_user,
		CASE WHEN until IS NULL THEN 'invoice_pause_lifted' ELSE 'invoice_paused' END,
		inv.id, NULL, jsonb_build_object('until', until,
			'previous', inv.paused_until, 'reason', why));
	PERFORM dunning.wake('pause', inv.id, inv.client_id);
END
$$;

-- SPEC §2 rule 5: the lawyer lets a held reminder go at the next window.
CREATE OR REPLACE FUNCTION dunning.approve(reminder_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	rem dunning.reminder := dunning.held_for_update(reminder_id);
BEGIN
	UPDATE dunning.reminder
	SET state = 'approved', decided_by = session_user, decided_at = dunning.now(),
	    scheduled_for = greatest(scheduled_for, dunning.now()), updated_at = dunning.now()
	WHERE id = rem.id;
	PERFORM dunning.audit(session_user, 'approved', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage));
	PERFORM dunning.wake('approval', rem.invoice_id, NULL);
END
$$;

-- SPEC §2 rule 5: the lawyer refuses a held reminder, with a reason.
CREATE OR REPLACE FUNCTION dunning.reject(reminder_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the rejection reason');
	rem dunning.reminder := dunning.held_for_update(reminder_id);
BEGIN
	UPDATE dunning.reminder
	SET state = 'cancelled', reason = 'rejected', last_error = why,
	    decided_by = session_user, decided_at = dunning.now(), updated_at = dunning.now()
	WHERE id = rem.id;
	PERFORM dunning.audit(session_user, 'rejected', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage, 'reason', why));
	PERFORM dunning.wake('rejection', rem.invoice_id, NULL);
END
$$;

-- Send a failed or in-doubt reminder again at the next send window, with
-- the same Message-ID (a receiving server that already has it drops the
-- duplicate).  The daemon still re-checks payments and disputes first.
CREATE OR REPLACE FUNCTION dunning.resend(reminder_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the reason');
	rem dunning.reminder := dunning.reminder_in(reminder_id, ARRAY['failed', 'in_doubt']);
BEGIN
	UPDATE dunning.reminder
	SET state = CASE WHEN decided_at IS NOT NULL THEN 'approved' ELSE 'planned' END,
	    scheduled_for = dunning.now(), reason = 'resend_requested', retrying = false,
	    lease_until = NULL,
	    updated_at = dunning.now()
	WHERE id = rem.id;
	PERFORM dunning.audit(session_user, 'resend_requested', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage, 'previous_state', rem.state,
			'message_id', rem.message_id, 'reason', why));
	PERFORM dunning.wake('resend', rem.invoice_id, NULL);
END
$$;

-- The operator knows an in-doubt message did reach the client (the relay's
-- log, the client's answer): record it as sent, now.
CREATE OR REPLACE FUNCTION dunning.mark_sent(reminder_id bigint, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(note, 'the note');
	rem dunning.reminder := dunning.reminder_in(reminder_id, ARRAY['in_doubt']);
BEGIN
	UPDATE dunning.reminder
	SET state = 'sent', sent_at = dunning.now(), reason = 'marked_sent', lease_until = NULL,
	    updated_at = dunning.now()
	WHERE id = rem.id;
	PERFORM dunning.audit(session_user, 'marked_sent', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage, 'message_id', rem.message_id, 'note', why));
	PERFORM dunning.wake('marked_sent', rem.invoice_id, NULL);
END
$$;

-- Record the registered-mail tracking number of a formal notice that was
-- sent (written for the post): once, by the client's lawyer or an
-- administrator.  A reminder that is not the caller's is "no reminder",
-- exactly like an unknown one.
CREATE OR REPLACE FUNCTION dunning.letter_sent(reminder_id bigint, tracking text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	num text := dunning.require_text(tracking, 'the tracking number');
	cli bigint;
	rem dunning.reminder;
	prev text;
BEGIN
	IF num !~ '^[A-Z0-9 -]{1,32}$' THEN
		RAISE EXCEPTION 'tracking number "%" is not 1 to 32 characters among A-Z, 0-9, space and hyphen',
			num USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.client_id INTO cli
	FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id
	WHERE r.id = letter_sent.reminder_id;
	IF NOT FOUND OR NOT dunning.my_client(cli) THEN
		RAISE EXCEPTION 'no reminder with id %', letter_sent.reminder_id
			USING ERRCODE = 'no_data_found';
	END IF;
	rem := dunning.reminder_in(letter_sent.reminder_id, ARRAY['sent']);
	-- A letter is recorded sent with the path it was written to (015).
	IF rem.letter_path IS NULL THEN
		RAISE EXCEPTION 'reminder % (stage %) was not sent as a letter', rem.id, rem.stage
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT coalesce(dunning.audit_details(a.id, a.details) ->> 'tracking', 'forgotten')
	INTO prev FROM dunning.audit_log a
	WHERE a.reminder_id = rem.id AND a.action = 'letter_posted' ORDER BY a.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the letter of reminder % is already recorded as posted (tracking %)',
			rem.id, prev USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dunning.audit(session_user, 'letter_posted', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage, 'tracking', num));
END
$$;

-- An export of a client's data (GDPR access request) leaves an audit row.
CREATE OR REPLACE FUNCTION dunning.record_export(client_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM dunning.client c WHERE c.id = record_export.client_id)
	   OR NOT dunning.my_client(record_export.client_id) THEN
		RAISE EXCEPTION 'no client with id %', record_export.client_id
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.audit(session_user, 'client_exported', NULL, NULL,
		jsonb_build_object('client_id', record_export.client_id));
END
$$;

REVOKE EXECUTE ON FUNCTION dunning.flag_dispute(text, text), dunning.clear_dispute(text, text),
	dunning.pause_client(bigint, date, text), dunning.pause_invoice(text, date, text),
	dunning.approve(bigint), dunning.reject(bigint, text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION dunning.flag_dispute(text, text), dunning.clear_dispute(text, text),
	dunning.pause_client(bigint, date, text), dunning.pause_invoice(text, date, text),
	dunning.approve(bigint), dunning.reject(bigint, text) TO dunning_lawyer, dunning_admin;

REVOKE EXECUTE ON FUNCTION dunning.resend(bigint, text), dunning.mark_sent(bigint, text)
	FROM PUBLIC;

GRANT EXECUTE ON FUNCTION dunning.resend(bigint, text), dunning.mark_sent(bigint, text)
	TO dunning_lawyer, dunning_admin;

REVOKE EXECUTE ON FUNCTION dunning.letter_sent(bigint, text), dunning.record_export(bigint)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.letter_sent(bigint, text), dunning.record_export(bigint)
	TO dunning_lawyer, dunning_admin;
