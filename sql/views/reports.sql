-- The accountant's reports (SPEC §3.1 "Reports"): aging, DSO, KPIs and
-- stage effectiveness, read from psql.  Each view is its function
-- *_at(as_of) at today; both run as their caller, so that row-level
-- security (009) shows a lawyer the figures of the lawyer's files only.
--
-- Definitions shared by every report (each COMMENT repeats what it uses):
--   - Days are the firm's calendar dates in its time zone (dunning.setting,
--     published by the daemon; Europe/Paris by default).  "Today" is
--     dunning.today(), the one clock's date.  The views are the functions
--     *_at(as_of) at today.
--   - "At the end of D" means at the first instant of D + 1 in that time
--     zone: the payments received before it count, those received later do
--     not, whenever they were recorded.
--   - balance = amount - sum(payments).  An invoice is receivable at the end
--     of D when it was issued on or before D, its balance then is positive,
--     and its status is 'open' or it was written off after D.  An overpaid
--     invoice (negative balance) is paid: it counts 0, and its surplus is not
--     netted against the client's other invoices.
--   - Cancelled invoices are ignored by every report (an invoice issued by
--     mistake was never owed).  A written-off invoice stops being receivable
--     on the day it is written off (written_off_on); its unpaid balance is a
--     loss, reported in kpi.written_off_365d.
--   - Amounts are numeric(12,2) of one currency: every report groups by or
--     filters on the invoice's currency and never adds two currencies.
--   - Rates are percentages rounded to one decimal; a rate whose base is
--     empty is NULL, never a division by zero.
--
-- Speed (1 000 000 invoices and 2 000 000 payments: bench/portfolio.sql):
-- each invoice carries what was paid on it and when its last payment
-- arrived (paid_total, last_paid_at: base/invoice_totals.sql, 013), and a
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
--   - payment_report_idx for the figures that need the payments up to
--     another instant (kpi's J+45 when the last payment came later,
--     stage_effectiveness's overpaid invoices).
-- The clock, the time zone and the day limits are computed once per
-- query, never per row.  Each function runs its query with a custom plan,
-- without JIT compilation (its start-up costs more than it saves here),
-- without parallel workers, and with the working set taken as cached
-- (random_page_cost), which makes the planner read the covering indexes.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- The runner drops every repeatable view before it runs a changed file and
-- creates them again (sql/README.md), so a view may change its columns
-- here; a function that changes its result columns needs a DROP FUNCTION
-- IF EXISTS above its CREATE.

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

CREATE VIEW dunning.aging_invoices WITH (security_invoker = true) AS
	SELECT * FROM dunning.aging_invoices_at(dunning.today());

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

CREATE VIEW dunning.aging WITH (security_invoker = true) AS
	SELECT * FROM dunning.aging_at(dunning.today());

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

CREATE VIEW dunning.kpi WITH (security_invoker = true) AS
	SELECT * FROM dunning.kpi_at(dunning.today());

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

CREATE VIEW dunning.stage_effectiveness WITH (security_invoker = true) AS
	SELECT * FROM dunning.stage_effectiveness_at(dunning.today());

-- ------------------------------------------------------------- comments --

COMMENT ON VIEW dunning.aging IS
'Receivables at the end of today by client, currency and days past due, one row per client and currency with a positive total. Receivable invoice: issued by today, status open (or written off after today), balance = amount - payments received by the end of today > 0 (an overpaid invoice counts 0 and is never netted against another); cancelled invoices are ignored. days past due = today - due_on. Buckets: not_due (<= 0), d1_30 (1 to 30), d31_60 (31 to 60), d61_90 (61 to 90), d90_plus (91 and more); total = their sum. = dunning.aging_at(today).';

COMMENT ON FUNCTION dunning.aging_at(date) IS
'dunning.aging at the end of AS_OF: invoices issued by AS_OF, payments received by its end, days past due = AS_OF - due_on, written-off invoices receivable until the day they were written off.';

COMMENT ON VIEW dunning.aging_invoices IS
'Each receivable invoice at the end of today (as in dunning.aging: status open, balance = amount - payments received by the end of today > 0), oldest first: balance, days_past_due = today - due_on, bucket (not_due <= 0, d1_30, d31_60, d61_90, d90_plus >= 91), last_stage = the stage of its last reminder sent, next_stage and next_at = the stage and scheduled_for of its reminder not sent yet (planned, held or approved), held = that reminder waits for a lawyer''s approval, paused = the invoice or its client is paused beyond today (paused_until > today), disputed = a dispute is open. = dunning.aging_invoices_at(today).';

COMMENT ON FUNCTION dunning.aging_invoices_at(date) IS
'dunning.aging_invoices at the end of AS_OF: balances, days past due and buckets at that date; the reminder, pause and dispute columns are the current state.';

COMMENT ON FUNCTION dunning.dso(integer, date, character) IS
'Days sales outstanding in CURRENCY = receivables at the end of AS_OF / amount invoiced (incl. VAT) over the PERIOD_DAYS days ending on AS_OF x PERIOD_DAYS, rounded to 0.1 day; dso(365) is the usual annual formula. Receivables = sum of the positive balances (amount - payments received by the end of AS_OF) of the invoices issued by AS_OF, open or written off after AS_OF. Amount invoiced = sum of the amounts of the invoices issued from AS_OF - PERIOD_DAYS + 1 to AS_OF, written-off ones included (they were sales), cancelled ones not. NULL when nothing was invoiced in the period. Defaults: 90 days, today, EUR.';

COMMENT ON VIEW dunning.kpi IS
'Collection KPIs at the end of today, one row per currency (= dunning.kpi_at(today)); cancelled invoices ignored. receivables = sum of the positive balances (amount - payments received by the end of today) of the open invoices issued by today. overdue_over_30_pct = 100 x the part of receivables more than 30 days past due (today - due_on > 30) / receivables. recovery_j45_pct = 100 x sum, over the invoices (open or written off) due on or before today - 45, of min(amount, payments received by the end of due_on + 45) / sum of their amounts. avg_days_to_pay = sum(amount x (date of the last payment - issued_on)) / sum(amount) over the invoices fully paid whose last payment was received in the 365 days ending today: an average weighted by invoice amount. reminders_sent_30d = reminders sent in the 30 days ending today. reminders_held = reminders waiting for a lawyer''s approval. written_off_365d = unpaid balance of the invoices written off in the 365 days ending today. Percentages and days rounded to 0.1; NULL when their base is empty.';

COMMENT ON FUNCTION dunning.kpi_at(date) IS
'dunning.kpi at the end of AS_OF: invoices issued by AS_OF, payments received by its end, the 30 and 365 days ending on AS_OF, written-off invoices receivable until they were written off. reminders_held is the current number (the state of a reminder is not historised).';

COMMENT ON VIEW dunning.stage_effectiveness IS
'For each reminder stage with messages sent (= dunning.stage_effectiveness_at(today)); cancelled invoices ignored. sent = number of reminders of that stage sent. paid_7d_pct = 100 x the share of those sent at least 7 days ago whose invoice was fully paid (payments >= amount) by the end of the 7th day after the day the message left (an invoice already paid by then counts); paid_14d_pct = the same with 14 days. NULL when no message is old enough. Ordered by the number in the stage name (j3, j10, j30, j45).';

COMMENT ON FUNCTION dunning.stage_effectiveness_at(date) IS
'dunning.stage_effectiveness at the end of AS_OF: the messages sent by then, the payments received by then, the 7 and 14 days counted back from AS_OF.';

-- --------------------------------------------------------------- grants --

REVOKE ALL ON FUNCTION dunning.aging_at(date), dunning.aging_invoices_at(date),
	dunning.dso(integer, date, character), dunning.kpi_at(date),
	dunning.stage_effectiveness_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.aging_at(date), dunning.aging_invoices_at(date),
	dunning.dso(integer, date, character), dunning.kpi_at(date),
	dunning.stage_effectiveness_at(date)
	TO dunning_accountant, dunning_lawyer, dunning_admin, dunning_daemon;
GRANT SELECT ON dunning.aging, dunning.aging_invoices, dunning.kpi,
	dunning.stage_effectiveness
	TO dunning_accountant, dunning_lawyer, dunning_admin, dunning_daemon;

-- The prescription watch (SPEC §2 rule 14, §3.1): per open invoice not paid
-- in full, when its claim prescribes.  It runs as its caller, so that
-- row-level security (009, 022, 023) shows a lawyer their own files only.
--
--   starting point  individual client: the end of the mission
--                   (fee_agreement.mission_ended_on of the invoice's
--                   agreement), or the invoice's issue date when unknown,
--                   2 years (C. consom. L.218-2);
--                   professional client: the due date, 5 years (art. 2224
--                   C. civ.);
--   interruptions   (art. 2240 C. civ.) the last payment's date (received_at
--                   in the firm's time zone, invoice.last_paid_at), the last
--                   written acknowledgement recorded by the lawyer
--                   (debt_acknowledgement.on_date); an accepted payment plan
--                   will be the third: plans do not exist yet, and the
--                   column `plan_accepted_on` below is where its date goes
--                   (NULL today).  A registered letter does not interrupt.
--   starts_on       the latest of the starting point and the interruptions;
--   prescribes_on   starts_on + 2 or 5 years;
--   days_left       prescribes_on - dunning.today() (the one clock);
--   last_interruption  the latest interruption's date, or NULL.
--


CREATE VIEW dunning.prescription WITH (security_invoker = true) AS
WITH base AS (
	SELECT i.number, dunning.notify_client_name(c) AS client_name, c.kind,
	       CASE WHEN c.kind = 'individual' THEN coalesce(fa.mission_ended_on, i.issued_on)
	            ELSE i.due_on END AS start_point,
	       CASE WHEN c.kind = 'individual' THEN 2 ELSE 5 END AS years,
	       (i.last_paid_at AT TIME ZONE dunning.firm_tz())::date AS paid_on,
	       (SELECT max(a.on_date) FROM dunning.debt_acknowledgement a
	        WHERE a.invoice_id = i.id) AS acknowledged_on,
	       (SELECT max((p.accepted_at AT TIME ZONE dunning.firm_tz())::date)
	        FROM dunning.plan_invoice pi JOIN dunning.payment_plan p ON p.id = pi.plan_id
	        WHERE pi.invoice_id = i.id AND p.accepted_at IS NOT NULL) AS plan_accepted_on
	FROM dunning.invoice i
	JOIN dunning.client c ON c.id = i.client_id
	LEFT JOIN dunning.fee_agreement fa ON fa.id = i.agreement_id
	WHERE i.status = 'open' AND i.amount - i.paid_total > 0
), periods AS (
	SELECT b.*,
	       greatest(b.paid_on, b.acknowledged_on, b.plan_accepted_on) AS last_interruption
	FROM base b
), starts AS (
	SELECT p.*, greatest(p.start_point, p.last_interruption) AS starts_on FROM periods p
)
SELECT s.number AS invoice_number, s.client_name, s.kind, s.starts_on,
       (s.starts_on + make_interval(years => s.years))::date AS prescribes_on,
       (s.starts_on + make_interval(years => s.years))::date - dunning.today() AS days_left,
       s.last_interruption
FROM starts s;

COMMENT ON VIEW dunning.prescription IS
	'Per open invoice not paid in full: when its claim prescribes (SPEC §2 rule 14). '
	'Individual: 2 years from the end of the mission (or the issue date), L.218-2 C. consom.; '
	'professional: 5 years from the due date, art. 2224 C. civ.; a payment, a written '
	'acknowledgement or an accepted payment plan starts the period again (art. 2240 C. civ.). '
	'Days at dunning.today().';

REVOKE ALL ON dunning.prescription FROM PUBLIC;
GRANT SELECT ON dunning.prescription
	TO dunning_lawyer, dunning_accountant, dunning_admin, dunning_daemon;

-- Payment plans (SPEC §2 rule 11, §3.1, 026): per plan, its client, its
-- total (the balances it shares), what was paid on its invoices since it was
-- proposed (dunning.plan_paid), and while it is proposed or active: the
-- next instalment not yet paid whose date is today or later (next_due_on,
-- and what of it is still asked, next_amount) and what is owed of the
-- instalments whose date has passed (late_amount).  Runs as its caller:
-- row-level security (026) shows a lawyer their own clients' plans only.
CREATE VIEW dunning.plans WITH (security_invoker = true) AS
SELECT p.id AS plan_id, dunning.notify_client_name(c) AS client_name, p.currency, p.state,
       p.total, pd.paid::numeric(12,2) AS paid, nx.due_on AS next_due_on,
       nx.left_to_pay::numeric(12,2) AS next_amount,
       CASE WHEN p.state IN ('proposed', 'active') THEN
            coalesce((SELECT max(s.owed) FROM dunning.plan_schedule(p.id, pd.paid) s
                      WHERE s.due_on < dunning.today()), 0)::numeric(12,2) END AS late_amount
FROM dunning.payment_plan p
JOIN dunning.client c ON c.id = p.client_id
CROSS JOIN LATERAL (SELECT dunning.plan_paid(p.id) AS paid) pd
LEFT JOIN LATERAL (
	SELECT s.due_on, s.left_to_pay FROM dunning.plan_schedule(p.id, pd.paid) s
	WHERE p.state IN ('proposed', 'active') AND s.left_to_pay > 0
	  AND s.due_on >= dunning.today()
	ORDER BY s.seq LIMIT 1) nx ON true;

COMMENT ON VIEW dunning.plans IS
	'Per payment plan (SPEC §2 rule 11): total, paid since its proposal, the next instalment '
	'still asked and the amount late (proposed and active plans). Days at dunning.today().';

REVOKE ALL ON dunning.plans FROM PUBLIC;
GRANT SELECT ON dunning.plans
	TO dunning_lawyer, dunning_accountant, dunning_admin, dunning_daemon;
