-- 007: the operator's way out of 'failed' and 'in_doubt' (SPEC §3.5), and the
-- send lock on every change the billing software can make.

-- A change to an invoice's amount, status or dispute, or to a payment,
-- waits for a send in flight on that invoice, like a new payment does
-- (003): the sender either sees it before the message leaves or records
-- the send first.
CREATE FUNCTION dunning.invoice_update_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dunning.lock_invoice(NEW.id);
	RETURN NEW;
END
$$;

CREATE TRIGGER invoice_lock BEFORE UPDATE OF amount, status, disputed_at, paused_until,
	client_id ON dunning.invoice
	FOR EACH ROW EXECUTE FUNCTION dunning.invoice_update_lock();

CREATE FUNCTION dunning.payment_change_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dunning.lock_invoice(OLD.invoice_id);
	IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
		PERFORM dunning.lock_invoice(NEW.invoice_id);
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER payment_change_lock BEFORE UPDATE OR DELETE ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_change_lock();

-- Lock a reminder in one of STATES and its invoice, or say why not.
CREATE FUNCTION dunning.reminder_in(p_reminder bigint, p_states text[]) RETURNS dunning.reminder
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
	IF NOT rem.state = ANY (p_states) THEN
		RAISE EXCEPTION 'reminder % is %, not %', p_reminder, rem.state,
			array_to_string(p_states, ' or ') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN rem;
END
$$;

-- approve and reject (003) lock a held reminder the same way: one mechanism.
CREATE OR REPLACE FUNCTION dunning.held_for_update(p_reminder bigint) RETURNS dunning.reminder
LANGUAGE sql AS $$
	SELECT dunning.reminder_in(p_reminder, ARRAY['held'])
$$;

-- Send a failed or in-doubt reminder again at the next send window, with
-- the same Message-ID (a receiving server that already has it drops the
-- duplicate).  The daemon still re-checks payments and disputes first.
CREATE FUNCTION dunning.resend(reminder_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	why text := dunning.require_text(reason, 'the reason');
	rem dunning.reminder := dunning.reminder_in(reminder_id, ARRAY['failed', 'in_doubt']);
BEGIN
	UPDATE dunning.reminder
	SET state = CASE WHEN decided_at IS NOT NULL THEN 'approved' ELSE 'planned' END,
	    scheduled_for = dunning.now(), reason = 'resend_requested', lease_until = NULL,
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
CREATE FUNCTION dunning.mark_sent(reminder_id bigint, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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

REVOKE EXECUTE ON FUNCTION dunning.resend(bigint, text), dunning.mark_sent(bigint, text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.resend(bigint, text), dunning.mark_sent(bigint, text)
	TO dunning_lawyer, dunning_admin;
