-- The send lock (doc/architecture.md, SPEC §3.5): a lawyer's function, a
-- payment or a change the billing software makes to an invoice waits for
-- the send in flight on that invoice, or the sender's re-check sees it.
-- The lock is the row lock of the invoice's row in dunning.send_lock
-- (020), which only the owner and the daemon can take: these functions run
-- as the owner, and lock_invoice is not executable by anyone else.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet).

-- Serialise with a send in flight on invoice ID: the sender holds this lock
-- from right before the message is handed until the relay's answer is
-- recorded, so a payment or a dispute either comes first (and nothing
-- leaves) or waits for that one send to be recorded (SPEC §3.5).  Held to
-- the end of the caller's transaction.  The row is made with the invoice
-- (invoice_send_lock_row); one missing (an invoice loaded with the
-- triggers off) is made here.
CREATE OR REPLACE FUNCTION dunning.lock_invoice(p_invoice bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM 1 FROM dunning.send_lock WHERE invoice_id = p_invoice FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO dunning.send_lock (invoice_id) VALUES (p_invoice)
		ON CONFLICT (invoice_id) DO NOTHING;
		PERFORM 1 FROM dunning.send_lock WHERE invoice_id = p_invoice FOR UPDATE;
	END IF;
END
$$;

-- A new invoice's send-lock row (020).
CREATE OR REPLACE FUNCTION dunning.invoice_send_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	INSERT INTO dunning.send_lock (invoice_id) VALUES (NEW.id)
	ON CONFLICT (invoice_id) DO NOTHING;
	RETURN NULL;
END
$$;

-- A payment waits for a send in flight on its invoice (SPEC §3.5).
CREATE OR REPLACE FUNCTION dunning.payment_before() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.lock_invoice(NEW.invoice_id);
	RETURN NEW;
END
$$;

-- A change to an invoice's amount, status or dispute, or to a payment,
-- waits for a send in flight on that invoice, like a new payment does:
-- the sender either sees it before the message leaves or records the
-- send first.
CREATE OR REPLACE FUNCTION dunning.invoice_update_lock() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.lock_invoice(NEW.id);
	RETURN NEW;
END
$$;

-- The same for a payment corrected or deleted (both invoices when it moves).
CREATE OR REPLACE FUNCTION dunning.payment_change_lock() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.lock_invoice(OLD.invoice_id);
	IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
		PERFORM dunning.lock_invoice(NEW.invoice_id);
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
