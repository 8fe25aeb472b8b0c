-- Waking the daemon (NOTIFY dunning): the lawyers' functions call
-- dunning.wake themselves; these triggers do it for every change the
-- billing software or an administrator makes outside them (008), so the
-- daemon plans the invoice named at once; its poll timer remains the
-- safety net.  What changed goes to dunning.wake_queue (020), which only
-- the daemon reads; the notification itself is empty, so a role that
-- LISTENs learns nothing, and one that NOTIFYs wakes the daemon to an
-- empty queue.  wake runs as the owner and only the owner's functions and
-- these triggers (as the owner) may call it.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet).

-- Wake the daemon about one invoice (or a client's, P_INVOICE NULL): a
-- row in its queue, and an empty NOTIFY (one per transaction: PostgreSQL
-- folds identical ones), sent at COMMIT.
CREATE OR REPLACE FUNCTION dunning.wake(p_event text, p_invoice bigint, p_client bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	INSERT INTO dunning.wake_queue (event, invoice_id, client_id)
	VALUES (p_event, p_invoice, p_client);
	SELECT pg_notify('dunning', '');
$$;

-- A payment is audited and wakes the daemon.
CREATE OR REPLACE FUNCTION dunning.payment_after() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.audit(session_user, 'payment_recorded', NEW.invoice_id, NULL,
		jsonb_build_object('payment_id', NEW.id, 'amount', NEW.amount,
			'received_at', NEW.received_at, 'reference', NEW.reference));
	PERFORM dunning.wake('payment', NEW.invoice_id, NULL);
	RETURN NULL;
END
$$;

-- An invoice's amount, status, dispute, pause or client changed.
CREATE OR REPLACE FUNCTION dunning.invoice_wake() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.wake('invoice', NEW.id, NEW.client_id);
	RETURN NULL;
END
$$;

-- A payment corrected or deleted (both invoices when it moves).
CREATE OR REPLACE FUNCTION dunning.payment_wake() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.wake('payment', OLD.invoice_id, NULL);
	IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
		PERFORM dunning.wake('payment', NEW.invoice_id, NULL);
	END IF;
	RETURN NULL;
END
$$;

-- A client's pause, strategic flag or address changed.
CREATE OR REPLACE FUNCTION dunning.client_wake() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.wake('client', NULL, NEW.id);
	RETURN NULL;
END
$$;

-- The planner's bookmark (017): a new invoice open, unpaid and not handed
-- over, or a change of the facts the policy reads, sends the invoice to
-- the next pass.
CREATE OR REPLACE FUNCTION dunning.invoice_look_again() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
	VALUES (NEW.id, '-infinity')
	ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = '-infinity'
	WHERE invoice_next_action.next_action_at <> '-infinity';
	RETURN NULL;
END
$$;

-- A client's pause or strategic flag changed: each of its open invoices
-- goes to the next pass.  Their rows are locked first, in id order, as an
-- UPDATE of the invoice would: a planner holding one of them is waited for
-- (it waits for nothing this transaction holds), and one that comes later
-- passes them by (SKIP LOCKED) rather than wait for a bookmark this
-- transaction holds.
CREATE OR REPLACE FUNCTION dunning.client_look_again() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
	SELECT id, '-infinity' FROM (SELECT id FROM dunning.invoice
	                             WHERE client_id = NEW.id AND status = 'open'
	                             ORDER BY id FOR UPDATE) i
	ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = '-infinity'
	WHERE invoice_next_action.next_action_at <> '-infinity';
	RETURN NULL;
END
$$;
