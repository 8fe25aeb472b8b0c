-- The invoice columns that triggers keep (not contract): the day it was
-- written off (005) or closed by its status (011), and what was paid on it
-- (013, whose header says how the reports read them).
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet).

-- written_off_on: set to the firm's today when the status becomes
-- 'written_off' (or kept as the writer gives it), cleared when it changes
-- back.
CREATE OR REPLACE FUNCTION dunning.invoice_written_off() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status <> 'written_off' THEN
		NEW.written_off_on := NULL;
	ELSIF TG_OP = 'INSERT' OR OLD.status <> 'written_off' THEN
		NEW.written_off_on := coalesce(NEW.written_off_on, dunning.today());
	END IF;
	RETURN NEW;
END
$$;

-- status_closed_on: the firm's today when the status leaves 'open' (or
-- the date the writer gives), moved between the closed statuses only if
-- the writer says so, cleared when the status goes back to 'open'.
CREATE OR REPLACE FUNCTION dunning.invoice_status_closed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'open' THEN
		NEW.status_closed_on := NULL;
	ELSIF TG_OP = 'INSERT' OR OLD.status = 'open' THEN
		NEW.status_closed_on := coalesce(NEW.status_closed_on, dunning.today());
	ELSE
		NEW.status_closed_on := coalesce(NEW.status_closed_on, OLD.status_closed_on);
	END IF;
	RETURN NEW;
END
$$;

-- Recompute the totals of the invoices a payment change touches.  A
-- payment change on an invoice holds its send lock (dunning.lock_invoice,
-- 003 and 007) until its transaction ends, so the changes of one invoice's
-- payments follow each other, and each recomputation (a new snapshot, read
-- committed) sees the payments of those before it.  Under repeatable read,
-- a concurrent change of the same invoice is a serialisation failure on
-- the invoice row rather than a stale total.  Definer's rights: the totals
-- count every payment, whatever the writer's policies let it read.
CREATE OR REPLACE FUNCTION dunning.payment_totals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	ids bigint[];
BEGIN
	IF TG_OP = 'INSERT' THEN
		ids := ARRAY[NEW.invoice_id];
	ELSIF TG_OP = 'DELETE' THEN
		ids := ARRAY[OLD.invoice_id];
	ELSIF OLD.invoice_id = NEW.invoice_id THEN
		ids := ARRAY[NEW.invoice_id];
	ELSE
		ids := ARRAY[OLD.invoice_id, NEW.invoice_id];
	END IF;
	UPDATE dunning.invoice i SET paid_total = t.total, last_paid_at = t.last_at
	FROM (SELECT v.id, coalesce(sum(q.amount), 0) AS total, max(q.received_at) AS last_at
	      FROM unnest(ids) v(id) LEFT JOIN dunning.payment q ON q.invoice_id = v.id
	      GROUP BY v.id) t
	WHERE i.id = t.id
	  AND (i.paid_total, i.last_paid_at) IS DISTINCT FROM (t.total, t.last_at);
	RETURN NULL;
END
$$;

-- TRUNCATE of the payments: nothing is paid any more.
CREATE OR REPLACE FUNCTION dunning.payment_totals_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	UPDATE dunning.invoice SET paid_total = 0, last_paid_at = NULL
	WHERE paid_total <> 0 OR last_paid_at IS NOT NULL;
	RETURN NULL;
END
$$;

-- Only the triggers above write the totals: a writer's value (an INSERT
-- naming them, an UPDATE that rewrites every column) is ignored, the
-- invoice keeps what its payments say.
CREATE OR REPLACE FUNCTION dunning.invoice_totals_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF pg_trigger_depth() < 2 THEN	-- not from dunning.payment_totals()
		IF TG_OP = 'INSERT' THEN
			NEW.paid_total := 0;
			NEW.last_paid_at := NULL;
		ELSE
			NEW.paid_total := OLD.paid_total;
			NEW.last_paid_at := OLD.last_paid_at;
		END IF;
	END IF;
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION dunning.payment_totals() IS
'Trigger on dunning.payment: recomputes invoice.paid_total and last_paid_at of the invoices whose payments changed (INSERT, DELETE, UPDATE of invoice_id, amount or received_at).';
