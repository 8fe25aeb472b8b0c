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

-- Recompute the totals of the invoices a payment change touches.  A
-- payment change on an invoice holds its send lock (dunning.lock_invoice,
-- 003 and 007) until its transaction ends, so the changes of one invoice's
-- payments follow each other, and each recomputation (a new snapshot, read
-- committed) sees the payments of those before it.  Under repeatable read,
-- a concurrent change of the same invoice is a serialisation failure on
-- the invoice row rather than a stale total.  Definer's rights: the totals
-- count every payment, whatever the writer's policies let it read.
CREATE FUNCTION dunning.payment_totals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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

CREATE TRIGGER payment_totals AFTER INSERT OR DELETE OR UPDATE OF invoice_id, amount,
	received_at ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_totals();

CREATE FUNCTION dunning.payment_totals_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
BEGIN
	UPDATE dunning.invoice SET paid_total = 0, last_paid_at = NULL
	WHERE paid_total <> 0 OR last_paid_at IS NOT NULL;
	RETURN NULL;
END
$$;

CREATE TRIGGER payment_totals_truncate AFTER TRUNCATE ON dunning.payment
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.payment_totals_truncate();

-- Only the triggers above write the totals: a writer's value (an INSERT
-- naming them, an UPDATE that rewrites every column) is ignored, the
-- invoice keeps what its payments say.
CREATE FUNCTION dunning.invoice_totals_kept() RETURNS trigger
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

-- ---------------------------------------------------------------- aging --

CREATE OR REPLACE FUNCTION dunning.aging_invoices_at(as_of date)
RETURNS TABLE (invoice_number text, client_name text, currency char(3),
               balance numeric(12,2), days_past_due integer, bucket text,
               last_stage text, next_stage text, next_at timestamptz,
               held boolean, paused boolean, disputed boolean)
LANGUAGE plpgsql STABLE
SET jit = off SET max_parallel_workers_per_gather = 0 SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan SET work_mem = '16MB' AS $$
#variable_conflict use_column
DECLARE
	cut timestamptz := dunning.day_end(as_of);
BEGIN
	RETURN QUERY
	WITH late AS (
		-- What each invoice received after the end of AS_OF.
		SELECT q.invoice_id, sum(q.amount) AS amount
		FROM dunning.payment q WHERE q.received_at >= cut
		GROUP BY q.invoice_id
	), unpaid AS (
		-- The invoices that may have had a positive balance at the end of
		-- AS_OF: those unpaid now, and those paid after it.
		SELECT i.id, i.number, i.client_id, i.status, i.currency, i.amount, i.issued_on,
		       i.due_on, i.written_off_on, i.paused_until, i.disputed_at,
		       i.paid_total - coalesce(l.amount, 0) AS paid
		FROM dunning.invoice i LEFT JOIN late l ON l.invoice_id = i.id
		WHERE i.status <> 'cancelled' AND i.amount > i.paid_total
		UNION ALL
		SELECT i.id, i.number, i.client_id, i.status, i.currency, i.amount, i.issued_on,
		       i.due_on, i.written_off_on, i.paused_until, i.disputed_at,
		       i.paid_total - l.amount
		FROM late l JOIN dunning.invoice i ON i.id = l.invoice_id
		WHERE NOT (i.status <> 'cancelled' AND i.amount > i.paid_total)
	)
	SELECT i.number,
	       CASE WHEN c.kind = 'professional' THEN c.company_name
	            ELSE concat_ws(' ', c.first_name, c.last_name) END,
	       i.currency,
	       (i.amount - i.paid)::numeric(12,2),
	       as_of - i.due_on,
	       CASE WHEN as_of - i.due_on <= 0 THEN 'not_due'
	            WHEN as_of - i.due_on <= 30 THEN 'd1_30'
	            WHEN as_of - i.due_on <= 60 THEN 'd31_60'
	            WHEN as_of - i.due_on <= 90 THEN 'd61_90'
	            ELSE 'd90_plus' END,
	       ls.stage,
	       nx.stage,
	       nx.scheduled_for,
	       coalesce(nx.state = 'held', false),
	       coalesce(greatest(i.paused_until, c.paused_until) > as_of, false),
	       i.disputed_at IS NOT NULL
	FROM unpaid i
	JOIN dunning.client c ON c.id = i.client_id
	LEFT JOIN LATERAL (SELECT x.stage FROM dunning.reminder x
	                   WHERE x.invoice_id = i.id AND x.state = 'sent'
	                   ORDER BY x.sent_at DESC LIMIT 1) ls ON true
	LEFT JOIN LATERAL (SELECT x.stage, x.state, x.scheduled_for FROM dunning.reminder x
	                   WHERE x.invoice_id = i.id
	                     AND x.state IN ('planned', 'held', 'approved')
	                   ORDER BY x.scheduled_for, x.id LIMIT 1) nx ON true
	WHERE (i.status = 'open' OR (i.status = 'written_off' AND i.written_off_on > as_of))
	  AND i.issued_on <= as_of AND i.amount > i.paid
	ORDER BY as_of - i.due_on DESC, i.number;
END
$$;

CREATE OR REPLACE FUNCTION dunning.aging_at(as_of date)
RETURNS TABLE (client_id bigint, client_name text, currency char(3),
               not_due numeric(12,2), d1_30 numeric(12,2), d31_60 numeric(12,2),
               d61_90 numeric(12,2), d90_plus numeric(12,2), total numeric(12,2))
LANGUAGE plpgsql STABLE
SET jit = off SET max_parallel_workers_per_gather = 0 SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan SET work_mem = '16MB' AS $$
#variable_conflict use_column
DECLARE
	cut timestamptz := dunning.day_end(as_of);
BEGIN
	RETURN QUERY
	WITH late AS (
		-- What each invoice received after the end of AS_OF.
		SELECT q.invoice_id, sum(q.amount) AS amount
		FROM dunning.payment q WHERE q.received_at >= cut
		GROUP BY q.invoice_id
	), unpaid AS (
		-- The invoices that may have had a positive balance at the end of
		-- AS_OF: those unpaid now, and those paid after it.
		SELECT i.client_id, i.status, i.currency, i.amount, i.issued_on, i.due_on,
		       i.written_off_on, i.paid_total - coalesce(l.amount, 0) AS paid
		FROM dunning.invoice i LEFT JOIN late l ON l.invoice_id = i.id
		WHERE i.status <> 'cancelled' AND i.amount > i.paid_total
		UNION ALL
		SELECT i.client_id, i.status, i.currency, i.amount, i.issued_on, i.due_on,
		       i.written_off_on, i.paid_total - l.amount
		FROM late l JOIN dunning.invoice i ON i.id = l.invoice_id
		WHERE NOT (i.status <> 'cancelled' AND i.amount > i.paid_total)
	)
	SELECT c.id,
	       CASE WHEN c.kind = 'professional' THEN c.company_name
	            ELSE concat_ws(' ', c.first_name, c.last_name) END,
	       b.currency,
	       coalesce(sum(b.balance) FILTER (WHERE b.days <= 0), 0)::numeric(12,2),
	       coalesce(sum(b.balance) FILTER (WHERE b.days BETWEEN 1 AND 30), 0)::numeric(12,2),
	       coalesce(sum(b.balance) FILTER (WHERE b.days BETWEEN 31 AND 60), 0)::numeric(12,2),
	       coalesce(sum(b.balance) FILTER (WHERE b.days BETWEEN 61 AND 90), 0)::numeric(12,2),
	       coalesce(sum(b.balance) FILTER (WHERE b.days > 90), 0)::numeric(12,2),
	       sum(b.balance)::numeric(12,2)
	FROM (SELECT u.client_id, u.currency, u.amount - u.paid AS balance,
	             as_of - u.due_on AS days
	      FROM unpaid u
	      WHERE (u.status = 'open' OR (u.status = 'written_off' AND u.written_off_on > as_of))
	        AND u.issued_on <= as_of AND u.amount > u.paid) b
	JOIN dunning.client c ON c.id = b.client_id
	GROUP BY c.id, b.currency
	ORDER BY 2, c.id, b.currency;
END
$$;

-- ------------------------------------------------------------------ dso --

CREATE OR REPLACE FUNCTION dunning.dso(period_days integer DEFAULT 90,
                                       as_of date DEFAULT dunning.today(),
                                       currency char(3) DEFAULT 'EUR') RETURNS numeric
LANGUAGE plpgsql STABLE
SET jit = off SET max_parallel_workers_per_gather = 0 SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
	cut timestamptz := dunning.day_end(as_of);
	result numeric;
BEGIN
	IF period_days IS NULL OR period_days < 1 THEN
		RAISE EXCEPTION 'period_days must be a positive number of days, not %',
			coalesce(period_days::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT round(coalesce(sum(b.amount - b.paid)
	                      FILTER (WHERE b.receivable AND b.paid < b.amount), 0)
	             * period_days
	             / nullif(sum(b.amount) FILTER (WHERE b.issued_on > as_of - period_days), 0),
	             1)
	INTO result
	FROM (SELECT (i.status = 'open' OR (i.status = 'written_off' AND i.written_off_on > as_of)) AS receivable,
	             i.amount, i.issued_on, i.paid_total - coalesce(l.amount, 0) AS paid
	      FROM dunning.invoice i
	      LEFT JOIN (SELECT q.invoice_id, sum(q.amount) AS amount
	                 FROM dunning.payment q WHERE q.received_at >= cut
	                 GROUP BY q.invoice_id) l ON l.invoice_id = i.id
	      WHERE i.currency = dso.currency AND i.status <> 'cancelled'
	        AND i.issued_on <= as_of) b;
	RETURN result;
END
$$;

-- ------------------------------------------------------------------ kpi --

CREATE OR REPLACE FUNCTION dunning.kpi_at(as_of date)
RETURNS TABLE (currency char(3), receivables numeric(12,2),
               overdue_over_30_pct numeric(4,1), recovery_j45_pct numeric(4,1),
               avg_days_to_pay numeric(7,1), reminders_sent_30d bigint,
               reminders_held bigint, written_off_365d numeric(12,2))
LANGUAGE plpgsql STABLE
SET jit = off SET max_parallel_workers_per_gather = 0 SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan AS $$
#variable_conflict use_column
DECLARE
	tz text := dunning.firm_tz();
	cut timestamptz := dunning.day_end(as_of);
	start_30d timestamptz := dunning.day_end(as_of - 30);
	start_365d timestamptz := dunning.day_end(as_of - 365);
	-- day_ends[n] is the end of day AS_OF + 1 - n, for the last ten years.
	day_ends timestamptz[] := ARRAY(SELECT (as_of + 2 - n)::timestamp AT TIME ZONE tz
	                                FROM generate_series(1, 3661) n ORDER BY n);
BEGIN
	RETURN QUERY
	WITH late AS (
		-- The invoices with payments received after the end of AS_OF: how
		-- much, and their last payment before it.
		SELECT l.invoice_id, l.amount,
		       (SELECT max(q.received_at) FROM dunning.payment q
		        WHERE q.invoice_id = l.invoice_id AND q.received_at < cut) AS last_at
		FROM (SELECT q.invoice_id, sum(q.amount) AS amount
		      FROM dunning.payment q WHERE q.received_at >= cut
		      GROUP BY q.invoice_id) l
	), inv AS (
		-- Every invoice issued by AS_OF with what was paid on it by the end
		-- of AS_OF, and when its last payment arrived.
		SELECT i.id, i.currency, i.status, i.amount, i.issued_on, i.due_on,
		       i.written_off_on, i.paid_total - coalesce(l.amount, 0) AS paid,
		       CASE WHEN l.invoice_id IS NULL THEN i.last_paid_at ELSE l.last_at END AS last_at,
		       (i.status = 'open' OR (i.status = 'written_off' AND i.written_off_on > as_of)) AS receivable
		FROM dunning.invoice i
		LEFT JOIN late l ON l.invoice_id = i.id
		WHERE i.status <> 'cancelled' AND i.issued_on <= as_of
	), facts AS (
		-- For an invoice due at least 45 days before AS_OF, what was paid
		-- on it by the end of J+45: all its payments when the last one came
		-- by then (the usual case), else the sum of those that did.
		SELECT inv.*,
		       CASE WHEN inv.due_on > as_of - 45 THEN NULL
		            WHEN inv.last_at IS NULL THEN 0
		            WHEN inv.last_at < e.j45_end THEN inv.paid
		            ELSE coalesce((SELECT sum(q.amount) FROM dunning.payment q
		                           WHERE q.invoice_id = inv.id
		                             AND q.received_at < e.j45_end), 0)
		       END AS paid_j45
		FROM inv
		CROSS JOIN LATERAL (
			SELECT coalesce(day_ends[as_of - inv.due_on - 44],
			                (inv.due_on + 46)::timestamp AT TIME ZONE tz) AS j45_end) e
		OFFSET 0	-- paid_j45 is computed once per invoice
	), money AS (
		SELECT f.currency,
		       sum(f.amount - f.paid)
		           FILTER (WHERE f.receivable AND f.paid < f.amount) AS receivables,
		       sum(f.amount - f.paid)
		           FILTER (WHERE f.receivable AND f.paid < f.amount
		                   AND as_of - f.due_on > 30) AS over_30,
		       sum(f.amount) FILTER (WHERE f.paid_j45 IS NOT NULL) AS due_45,
		       sum(least(f.amount, f.paid_j45)) FILTER (WHERE f.paid_j45 IS NOT NULL)
		           AS recovered_45,
		       sum(f.amount * ((f.last_at AT TIME ZONE tz)::date - f.issued_on))
		           FILTER (WHERE f.paid >= f.amount AND f.last_at >= start_365d) AS amount_days,
		       sum(f.amount)
		           FILTER (WHERE f.paid >= f.amount AND f.last_at >= start_365d) AS amount_paid,
		       sum(f.amount - f.paid)
		           FILTER (WHERE f.status = 'written_off' AND f.paid < f.amount
		                   AND f.written_off_on BETWEEN as_of - 364 AND as_of) AS written_off
		FROM facts f
		GROUP BY f.currency
	), reminders AS (
		SELECT i.currency,
		       count(*) FILTER (WHERE r.held = false) AS sent_30d,
		       count(*) FILTER (WHERE r.held) AS held
		FROM (SELECT x.invoice_id, false AS held FROM dunning.reminder x
		      WHERE x.state = 'sent' AND x.sent_at >= start_30d AND x.sent_at < cut
		      UNION ALL
		      SELECT x.invoice_id, true FROM dunning.reminder x WHERE x.state = 'held') r
		JOIN dunning.invoice i ON i.id = r.invoice_id AND i.status <> 'cancelled'
		GROUP BY i.currency
	)
	SELECT cur.currency,
	       coalesce(m.receivables, 0)::numeric(12,2),
	       round(100 * coalesce(m.over_30, 0) / nullif(m.receivables, 0), 1)::numeric(4,1),
	       round(100 * m.recovered_45 / nullif(m.due_45, 0), 1)::numeric(4,1),
	       round(m.amount_days / nullif(m.amount_paid, 0), 1)::numeric(7,1),
	       coalesce(r.sent_30d, 0),
	       coalesce(r.held, 0),
	       coalesce(m.written_off, 0)::numeric(12,2)
	FROM (SELECT money.currency FROM money
	      UNION SELECT reminders.currency FROM reminders) cur
	LEFT JOIN money m ON m.currency = cur.currency
	LEFT JOIN reminders r ON r.currency = cur.currency
	ORDER BY cur.currency;
END
$$;

-- -------------------------------------------------- stage effectiveness --

CREATE OR REPLACE FUNCTION dunning.stage_effectiveness_at(as_of date)
RETURNS TABLE (stage text, sent bigint, paid_7d_pct numeric(4,1), paid_14d_pct numeric(4,1))
LANGUAGE plpgsql STABLE
SET jit = off SET max_parallel_workers_per_gather = 0 SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan AS $$
#variable_conflict use_column
DECLARE
	tz text := dunning.firm_tz();
	cut timestamptz := dunning.day_end(as_of);
	cut_7 timestamptz := dunning.day_end(as_of - 7);
	cut_14 timestamptz := dunning.day_end(as_of - 14);
BEGIN
	RETURN QUERY
	WITH late AS (
		-- The invoices with payments received after the end of AS_OF: how
		-- much, and their last payment before it.
		SELECT l.invoice_id, l.amount,
		       (SELECT max(q.received_at) FROM dunning.payment q
		        WHERE q.invoice_id = l.invoice_id AND q.received_at < cut) AS last_at
		FROM (SELECT q.invoice_id, sum(q.amount) AS amount
		      FROM dunning.payment q WHERE q.received_at >= cut
		      GROUP BY q.invoice_id) l
	), message AS (
		-- Each message sent by the end of AS_OF, and when its invoice
		-- became fully paid (NULL: not by the end of AS_OF): at its last
		-- payment when the payments add up to the amount exactly; for an
		-- overpaid invoice, at the first payment that brought the running
		-- total to the amount.
		SELECT r.stage, r.sent_at,
		       CASE WHEN p.paid < i.amount THEN NULL
		            WHEN p.paid = i.amount THEN p.last_at
		            ELSE (SELECT min(s.received_at)
		                  FROM (SELECT q.received_at,
		                               sum(q.amount) OVER (ORDER BY q.received_at) AS running
		                        FROM dunning.payment q
		                        WHERE q.invoice_id = i.id AND q.received_at < cut) s
		                  WHERE s.running >= i.amount) END AS paid_at
		FROM dunning.invoice i
		LEFT JOIN late l ON l.invoice_id = i.id
		CROSS JOIN LATERAL (
			SELECT i.paid_total - coalesce(l.amount, 0) AS paid,
			       CASE WHEN l.invoice_id IS NULL THEN i.last_paid_at ELSE l.last_at END
			           AS last_at) p
		JOIN dunning.reminder r ON r.invoice_id = i.id
		WHERE i.status <> 'cancelled' AND r.state = 'sent' AND r.sent_at < cut
		OFFSET 0	-- paid_at is computed once per message
	)
	-- Paid within N days of a message: fully paid by the end of the Nth
	-- day after the day it left.  A payment less than N - 1 days of 24 h
	-- after the message is inside that limit, one N + 2 such days after it
	-- or later is outside (a day lasts 23 to 25 hours); only those in
	-- between need the calendar of the firm's time zone.
	SELECT m.stage, count(*),
	       round(100.0 * count(*) FILTER (WHERE m.sent_at < cut_7 AND m.paid_at IS NOT NULL
	                 AND (m.paid_at < m.sent_at + interval '144 hours'
	                      OR (m.paid_at < m.sent_at + interval '216 hours'
	                          AND m.paid_at < ((m.sent_at AT TIME ZONE tz)::date + 8)::timestamp
	                                          AT TIME ZONE tz)))
	             / nullif(count(*) FILTER (WHERE m.sent_at < cut_7), 0), 1)::numeric(4,1),
	       round(100.0 * count(*) FILTER (WHERE m.sent_at < cut_14 AND m.paid_at IS NOT NULL
	                 AND (m.paid_at < m.sent_at + interval '312 hours'
	                      OR (m.paid_at < m.sent_at + interval '384 hours'
	                          AND m.paid_at < ((m.sent_at AT TIME ZONE tz)::date + 15)::timestamp
	                                          AT TIME ZONE tz)))
	             / nullif(count(*) FILTER (WHERE m.sent_at < cut_14), 0), 1)::numeric(4,1)
	FROM message m
	GROUP BY m.stage
	ORDER BY substring(m.stage FROM '[0-9]+')::integer NULLS LAST, m.stage;
END
$$;

-- ------------------------------------------------------------- comments --

COMMENT ON COLUMN dunning.invoice.paid_total IS
'Not contract. The sum of the invoice''s payments, whenever received; 0 without any. Kept by the trigger payment_totals on dunning.payment (a value written to it directly is ignored); the reports subtract the payments received after the day they are read at.';

COMMENT ON COLUMN dunning.invoice.last_paid_at IS
'Not contract. When the invoice''s last payment was received (NULL: no payment). Kept with paid_total.';

COMMENT ON FUNCTION dunning.payment_totals() IS
'Trigger on dunning.payment: recomputes invoice.paid_total and last_paid_at of the invoices whose payments changed (INSERT, DELETE, UPDATE of invoice_id, amount or received_at).';
