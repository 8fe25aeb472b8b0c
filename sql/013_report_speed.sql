-- 013: the accountant's reports (005) without reading every payment.
--
-- Each report of 005 summed all the payments per invoice (2 000 000 index
-- entries for 1 000 000 invoices: bench/portfolio.sql), which was most of
-- its time.  Now each invoice carries what was paid on it and when its last
-- payment arrived, kept up to date by a trigger on dunning.payment, and a
-- report at the end of day AS_OF reads:
--   - the payments received after the end of AS_OF (at or after the first
--     instant of AS_OF + 1), from payment_received_idx: paid by the end of
--     AS_OF = paid_total - those (none for today, a month of payments for
--     the end of last month) and, for the few invoices that have some
--     (kpi, stage_effectiveness), their last payment before the end of
--     AS_OF from payment_report_idx;
--   - aging and aging_invoices: only the invoices not paid in full now,
--     from the partial index invoice_unpaid_idx, and those that received
--     payments after the end of AS_OF (a balance positive at the end of
--     AS_OF is on one or the other);
--   - dso, kpi and stage_effectiveness: every invoice once, from the
--     covering index invoice_paid_idx, never the invoice rows;
--   - as before, payment_report_idx for the figures that need the payments
--     up to another instant (kpi's J+45 when the last payment came later,
--     stage_effectiveness's overpaid invoices).
-- The definitions, columns, names, comments, grants, caller's rights and
-- row-level security of the reports are those of 005 and 009: only how
-- they read changes.  Each function still runs with a custom plan, without
-- JIT or parallel workers, and with random_page_cost for a cached working
-- set.
--
-- The reports in their new form are in views/reports.sql; the triggers'
-- functions in base/invoice_totals.sql (the why of their order and
-- rights is there too).

-- What was paid on each invoice: the sum of its payments and the instant
-- of the last one (NULL: none), whenever received (not contract).  Kept by
-- the triggers below; a bulk load that bypasses them (session_replication_role
-- = replica, as bench/portfolio.sql) must fill them itself.
ALTER TABLE dunning.invoice
	ADD COLUMN paid_total numeric(14,2) NOT NULL DEFAULT 0,
	ADD COLUMN last_paid_at timestamptz;

UPDATE dunning.invoice i SET paid_total = p.total, last_paid_at = p.last_at
FROM (SELECT q.invoice_id, sum(q.amount) AS total, max(q.received_at) AS last_at
      FROM dunning.payment q GROUP BY q.invoice_id) p
WHERE p.invoice_id = i.id;

CREATE TRIGGER payment_totals AFTER INSERT OR DELETE OR UPDATE OF invoice_id, amount,
	received_at ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_totals();

CREATE TRIGGER payment_totals_truncate AFTER TRUNCATE ON dunning.payment
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.payment_totals_truncate();

CREATE TRIGGER invoice_totals_kept BEFORE INSERT OR UPDATE OF paid_total, last_paid_at
	ON dunning.invoice FOR EACH ROW EXECUTE FUNCTION dunning.invoice_totals_kept();

-- What the figures need of each invoice, in id order (replaces 005's
-- invoice_report_idx, which lacked the totals).
CREATE INDEX invoice_paid_idx ON dunning.invoice (id)
	INCLUDE (client_id, status, currency, amount, paid_total, last_paid_at, issued_on,
	         due_on, written_off_on);
DROP INDEX dunning.invoice_report_idx;
-- The payments by the instant they were received: those after the end of
-- a past day.
CREATE INDEX payment_received_idx ON dunning.payment (received_at) INCLUDE (invoice_id, amount);
-- The invoices not paid in full now (aging, aging_invoices): at the end of
-- a past day, a balance was positive only on one of them or on an invoice
-- paid after that day.
CREATE INDEX invoice_unpaid_idx ON dunning.invoice (id)
	INCLUDE (client_id, status, currency, amount, paid_total, issued_on, due_on, written_off_on)
	WHERE status <> 'cancelled' AND amount > paid_total;

-- ------------------------------------------------------------- comments --

COMMENT ON COLUMN dunning.invoice.paid_total IS
'Not contract. The sum of the invoice''s payments, whenever received; 0 without any. Kept by the trigger payment_totals on dunning.payment (a value written to it directly is ignored); the reports subtract the payments received after the day they are read at.';

COMMENT ON COLUMN dunning.invoice.last_paid_at IS
'Not contract. When the invoice''s last payment was received (NULL: no payment). Kept with paid_total.';
