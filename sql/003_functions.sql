-- 003: the functions a lawyer calls from psql (SPEC §3.1), and the payment
-- trigger.  Each validates its input, follows the one clock, writes its
-- audit row with the calling role as actor, and wakes the daemon (NOTIFY
-- dunning).  They run as their owner so that the audit chain and the
-- reminder rows stay out of the callers' direct reach; EXECUTE is granted
-- to the lawyer and admin roles only.

-- Serialise with a send in flight on invoice ID: the sender holds this lock
-- from the claim until the relay's answer is recorded, so a payment or a
-- dispute either comes first (and nothing leaves) or waits for that one
-- send to be recorded (SPEC §3.5).
CREATE FUNCTION dunning.lock_invoice(p_invoice bigint) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_advisory_xact_lock(1685417582, (p_invoice % 2147483647)::integer)
$$;

-- Wake the daemon about one invoice.
CREATE FUNCTION dunning.wake(p_event text, p_invoice bigint, p_client bigint) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_notify('dunning', json_build_object('event', p_event,
		'invoice', p_invoice, 'client', p_client)::text)
$$;

-- Raise a clear error when TEXT is empty.
CREATE FUNCTION dunning.require_text(p_text text, p_what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF coalesce(btrim(p_text), '') = '' THEN
		RAISE EXCEPTION '% must not be empty', p_what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN btrim(p_text);
END
$$;

-- Find an invoice by number and lock it for the caller's transaction.
CREATE FUNCTION dunning.invoice_for_update(p_number text) RETURNS dunning.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv dunning.invoice;
BEGIN
	SELECT * INTO inv FROM dunning.invoice WHERE number = p_number;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no invoice numbered "%"', p_number
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.lock_invoice(inv.id);
	SELECT * INTO inv FROM dunning.invoice WHERE id = inv.id FOR UPDATE;
	RETURN inv;
END
$$;

-- Cancel the invoice's reminders that have not left, auditing each.
CREATE FUNCTION dunning.cancel_pending(p_invoice bigint, p_why text, p_actor text)
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
CREATE FUNCTION dunning.flag_dispute(invoice_number text, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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
CREATE FUNCTION dunning.clear_dispute(invoice_number text, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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
CREATE FUNCTION dunning.check_pause(p_until date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_until IS NOT NULL AND p_until < dunning.today() THEN
		RAISE EXCEPTION 'pause date % is in the past (today is %)', p_until,
			dunning.today() USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

-- SPEC §2 rule 6: no message to this client before UNTIL (NULL lifts it).
CREATE FUNCTION dunning.pause_client(client_id bigint, until date, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	why text := dunning.require_text(reason, 'the pause reason');
	cli dunning.client;
BEGIN
	PERFORM dunning.check_pause(until);
	SELECT * INTO cli FROM dunning.client c WHERE c.id = pause_client.client_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no client with id %', pause_client.client_id
			USING ERRCODE = 'no_data_found';
	END IF;
	UPDATE dunning.client c SET paused_until = until WHERE c.id = cli.id;
	PERFORM dunning.audit(session_user,
		CASE WHEN until IS NULL THEN 'client_pause_lifted' ELSE 'client_paused' END,
		NULL, NULL, jsonb_build_object('client_id', cli.id, 'until', until,
			'previous', cli.paused_until, 'reason', why));
	PERFORM dunning.wake('pause', NULL, cli.id);
END
$$;

-- SPEC §2 rule 6 for one invoice.
CREATE FUNCTION dunning.pause_invoice(invoice_number text, until date, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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

-- Lock a held reminder and its invoice, or say clearly why not.
CREATE FUNCTION dunning.held_for_update(p_reminder bigint) RETURNS dunning.reminder
LANGUAGE plpgsql AS $$
DECLARE
	rem dunning.reminder;
BEGIN
	SELECT * INTO rem FROM dunning.reminder WHERE id = p_reminder;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no reminder with id %', p_reminder
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.lock_invoice(rem.invoice_id);
	SELECT * INTO rem FROM dunning.reminder WHERE id = p_reminder FOR UPDATE;
	IF rem.state <> 'held' THEN
		RAISE EXCEPTION 'reminder % is %, not held for approval', p_reminder, rem.state
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN rem;
END
$$;

-- SPEC §2 rule 5: the lawyer lets a held reminder go at the next window.
CREATE FUNCTION dunning.approve(reminder_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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
CREATE FUNCTION dunning.reject(reminder_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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

-- A payment waits for a send in flight on its invoice (SPEC §3.5).
CREATE FUNCTION dunning.payment_before() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dunning.lock_invoice(NEW.invoice_id);
	RETURN NEW;
END
$$;

-- A payment is audited and wakes the daemon.
CREATE FUNCTION dunning.payment_after() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
BEGIN
	PERFORM dunning.audit(session_user, 'payment_recorded', NEW.invoice_id, NULL,
		jsonb_build_object('payment_id', NEW.id, 'amount', NEW.amount,
			'received_at', NEW.received_at, 'reference', NEW.reference));
	PERFORM dunning.wake('payment', NEW.invoice_id, NULL);
	RETURN NULL;
END
$$;

CREATE TRIGGER payment_lock BEFORE INSERT ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_before();
CREATE TRIGGER payment_audit AFTER INSERT ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_after();

REVOKE EXECUTE ON FUNCTION dunning.flag_dispute(text, text), dunning.clear_dispute(text, text),
	dunning.pause_client(bigint, date, text), dunning.pause_invoice(text, date, text),
	dunning.approve(bigint), dunning.reject(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.flag_dispute(text, text), dunning.clear_dispute(text, text),
	dunning.pause_client(bigint, date, text), dunning.pause_invoice(text, date, text),
	dunning.approve(bigint), dunning.reject(bigint, text) TO dunning_lawyer, dunning_admin;
