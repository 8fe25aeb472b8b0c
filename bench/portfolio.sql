-- bench/portfolio.sql: a deterministic synthetic portfolio for benchmarks.
--
--   dunningctl -c CONF migrate
--   psql -X -v invoices=1000000 -v seed=1 -f bench/portfolio.sql DBNAME
--
-- psql variables (all optional):
--   invoices  number of invoices              (default 1000000)
--   seed      seed of the pseudo-random draws (default 1)
--   as_of     the last day of the portfolio   (default 2026-03-31)
--
-- The same (invoices, seed, as_of) gives the same rows, ids included, on
-- every run: each draw is hashint8extended(row number, seed * 100 + stream),
-- a pure function of its arguments, so nothing depends on the order in
-- which PostgreSQL evaluates rows.
--
-- What it loads, into an empty migrated database (it refuses a non-empty one):
--   - 20 lawyers; one client per 20 invoices (60 % professional), a few
--     clients holding many invoices;
--   - invoices issued uniformly over the three years (1095 days) ending on
--     as_of; terms of 30 days (80 %), 45 (10 %), 60 (5 %) or payable on
--     receipt (5 %); amounts log-uniform from 150 to 20 000; 3 % in USD,
--     the rest in EUR; 0.5 % cancelled;
--   - payments: 1 to 4 instalments (mean about 2); 70 % of the payers pay
--     on time (instalments spread from the issue date to the due date), the
--     others late by 1 + an exponential number of days (mean 25: a long
--     tail, 2.7 % later than 90 days), later instalments 15 days apart;
--     3 % never pay, 5 % stop before the last instalment (partial), 0.2 %
--     overpay by 10.00; nothing is received after as_of.  About two
--     payments per invoice;
--   - old invoices (due more than a year before as_of) left unpaid are
--     written off one time in two, 90 days to a year after their due date;
--   - reminders as the daemon would have sent them (j3, j10, j30, j45 at
--     J+3/10/30/45 at 10:00, Paris time, while the invoice was not fully
--     paid), and for an invoice still open the next stage pending
--     ('held' when it needs a lawyer's approval: j45, or j30 and j45 from
--     5 000 on; 'planned' otherwise);
--   - 1 % of the clients strategic; disputes, pauses and escalations
--     (see the block before the sequences).
--
-- The load runs with session_replication_role = replica (superuser only):
-- no audit row, NOTIFY or foreign-key check per payment, as a bulk restore
-- would; so it fills itself what the skipped triggers would have: the
-- invoices' status_closed_on (sql/011) and paid_total and last_paid_at
-- (sql/013).  It ends with VACUUM ANALYZE, as autovacuum would after a load.
\set ON_ERROR_STOP on
\if :{?invoices}
\else
\set invoices 1000000
\endif
\if :{?seed}
\else
\set seed 1
\endif
\if :{?as_of}
\else
\set as_of 2026-03-31
\endif
\set QUIET on
\timing off

SELECT (SELECT count(*) FROM dunning.invoice) + (SELECT count(*) FROM dunning.client)
     + (SELECT count(*) FROM dunning.lawyer) > 0 AS not_empty \gset
\if :not_empty
DO $$ BEGIN RAISE EXCEPTION 'bench/portfolio.sql: the database already holds lawyers, clients or invoices; load into an empty one'; END $$;
\endif

SET session_replication_role = replica;
SET client_min_messages = warning;
BEGIN;

-- Uniform draw in [0, 1) for row G and stream S.
CREATE FUNCTION pg_temp.u(g bigint, s integer, seed integer) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
	SELECT (hashint8extended(g, seed::bigint * 100 + s) & 2147483647)::float8 / 2147483648.0
$$;

-- A Paris wall-clock time on day D, H hours after 09:00, as an instant.
CREATE FUNCTION pg_temp.paris(d date, h float8) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
	SELECT (d + time '09:00' + make_interval(secs => floor(h * 3600))) AT TIME ZONE 'Europe/Paris'
$$;

INSERT INTO dunning.lawyer (id, full_name, email)
SELECT l, format('Maître Avocat %s', l), format('avocat%s@cabinet.example', l)
FROM generate_series(1, 20) l;

INSERT INTO dunning.client (id, kind, first_name, last_name, company_name, email,
	address_line1, postal_code, city, strategic, lawyer_id)
SELECT c,
       CASE WHEN pro THEN 'professional' ELSE 'individual' END,
       CASE WHEN NOT pro THEN (ARRAY['Claire', 'Jean', 'Élodie', 'Thomas', 'Nathalie',
            'Lucas', 'Camille', 'Hugo', 'Manon', 'Antoine'])[1 + (c % 10)] END,
       CASE WHEN NOT pro THEN (ARRAY['Dupont', 'Moreau', 'Roux', 'Fournier', 'Girard',
            'Bonnet', 'Lambert', 'Rousseau', 'Guerin', 'Chevalier', 'Martin',
            'Bernard'])[1 + (c / 10) % 12] || ' ' || c END,
       CASE WHEN pro THEN (ARRAY['SARL', 'SAS', 'SA', 'EURL', 'SCI', 'SELARL'])[1 + c % 6]
            || ' Client ' || c END,
       format('client%s@example.org', c),
       format('%s rue de la République', 1 + c % 120), '75011', 'Paris',
       pg_temp.u(c, 2, :seed) < 0.01,
       1 + c % 20
FROM (SELECT c, pg_temp.u(c, 1, :seed) < 0.6 AS pro
      FROM generate_series(1, greatest(1, :invoices / 20)) c) x;

-- The draws of every invoice, kept for the payments and reminders.
CREATE TEMP TABLE gen ON COMMIT DROP AS
SELECT g AS id,
       issued,
       issued + terms AS due,
       amount,
       CASE WHEN u_k < 0.03 THEN 0 WHEN u_k < 0.28 THEN 1 WHEN u_k < 0.63 THEN 2
            WHEN u_k < 0.88 THEN 3 ELSE 4 END AS k,
       pg_temp.u(g, 8, :seed) >= 0.70 AS late,
       1 + floor(-ln(1 - pg_temp.u(g, 9, :seed)) * 25)::integer AS lateness,
       pg_temp.u(g, 10, :seed) < 0.05 AS partial,
       pg_temp.u(g, 11, :seed) < 0.002 AS overpay,
       pg_temp.u(g, 6, :seed) < 0.005 AS cancelled
FROM (SELECT g,
             date :'as_of' - floor(pg_temp.u(g, 3, :seed) * 1095)::integer AS issued,
             CASE WHEN u_t < 0.80 THEN 30 WHEN u_t < 0.90 THEN 45
                  WHEN u_t < 0.95 THEN 60 ELSE 0 END AS terms,
             round(exp(ln(150) + pg_temp.u(g, 4, :seed) * ln(20000.0 / 150))::numeric, 2)
                 AS amount,
             pg_temp.u(g, 7, :seed) AS u_k
      FROM (SELECT g, pg_temp.u(g, 5, :seed) AS u_t
            FROM generate_series(1, :invoices) g) t) x;
ALTER TABLE gen ADD PRIMARY KEY (id);

-- Instalment J of K of every invoice: its date and amount; a partial
-- payer stops before the last one (pays half when there is one).
CREATE TEMP TABLE gen_pay ON COMMIT DROP AS
SELECT g.id, j,
       CASE WHEN g.late THEN g.due + g.lateness + 15 * (j - 1)
            ELSE g.issued + ((g.due - g.issued) * j) / g.k END AS on_day,
       CASE WHEN g.partial AND g.k = 1 THEN round(g.amount / 2, 2)
            WHEN j < g.k THEN round(g.amount / g.k, 2)
            ELSE g.amount - (g.k - 1) * round(g.amount / g.k, 2)
                 + CASE WHEN g.overpay THEN 10 ELSE 0 END END AS amount
FROM gen g, generate_series(1, g.k) j
WHERE NOT g.cancelled AND (NOT g.partial OR j < g.k OR g.k = 1);

-- The day an invoice was fully paid (NULL: not by as_of).
CREATE TEMP TABLE gen_full ON COMMIT DROP AS
SELECT g.id, max(p.on_day) AS paid_on
FROM gen g JOIN gen_pay p ON p.id = g.id
WHERE g.k > 0 AND NOT g.partial
GROUP BY g.id
HAVING max(p.on_day) <= date :'as_of';
ALTER TABLE gen_full ADD PRIMARY KEY (id);

-- The payments received by as_of, with their instants, and what they add
-- up to per invoice (invoice.paid_total and last_paid_at, sql/013, which
-- its trigger does not fill here).
CREATE TEMP TABLE gen_recv ON COMMIT DROP AS
SELECT p.id, p.j, p.amount,
       pg_temp.paris(p.on_day, pg_temp.u(p.id * 8 + p.j, 15, :seed) * 9) AS received_at
FROM gen_pay p
WHERE p.on_day <= date :'as_of';
CREATE TEMP TABLE gen_paid ON COMMIT DROP AS
SELECT id, sum(amount) AS total, max(received_at) AS last_at
FROM gen_recv GROUP BY id;
ALTER TABLE gen_paid ADD PRIMARY KEY (id);

INSERT INTO dunning.invoice (id, number, client_id, matter_ref, issued_on, due_on, amount,
	currency, status, written_off_on, status_closed_on, payment_url, paid_total,
	last_paid_at)
SELECT id, 'B-' || lpad(id::text, 8, '0'),
       1 + floor(greatest(1, :invoices / 20) * pg_temp.u(id, 12, :seed) ^ 1.5)::bigint,
       'D-' || (1000 + id % 9000),
       issued, due, amount,
       CASE WHEN pg_temp.u(id, 13, :seed) < 0.03 THEN 'USD' ELSE 'EUR' END,
       status,
       -- written off 90 days to a year after the due date
       CASE WHEN status = 'written_off' THEN written_off END,
       -- the day the status left 'open' (sql/011; its trigger does not
       -- run here): a cancelled invoice a week after its issue
       CASE WHEN status = 'written_off' THEN written_off
            WHEN status = 'cancelled' THEN least(issued + 7, date :'as_of') END,
       CASE WHEN id % 3 = 0 THEN 'https://pay.cabinet.example/B-' || id END,
       coalesce(total, 0), last_at
FROM (SELECT g.id, g.issued, g.due, g.amount,
             CASE WHEN g.cancelled THEN 'cancelled'
                  WHEN f.id IS NULL AND g.due < date :'as_of' - 365
                       AND pg_temp.u(g.id, 14, :seed) < 0.5 THEN 'written_off'
                  ELSE 'open' END AS status,
             least(g.due + 90 + floor(pg_temp.u(g.id, 16, :seed) * 275)::integer,
                   date :'as_of') AS written_off
      FROM gen g LEFT JOIN gen_full f ON f.id = g.id) x
LEFT JOIN gen_paid USING (id)
ORDER BY id;

INSERT INTO dunning.payment (invoice_id, amount, received_at, reference)
SELECT p.id, p.amount, p.received_at, 'VIR B-' || p.id
FROM gen_recv p
ORDER BY p.id, p.j;

-- Reminders: each stage sent while the invoice was not fully paid (the
-- daemon sends nothing on a cancelled invoice); the next one pending.
INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, sent_at,
	message_id, created_at, updated_at)
SELECT g.id, s.stage, 'sent', t, t, format('<r%s.%s@bench.example>', g.id, s.stage), t, t
FROM gen g
LEFT JOIN gen_full f ON f.id = g.id
CROSS JOIN (VALUES ('j3', 3), ('j10', 10), ('j30', 30), ('j45', 45)) s(stage, off)
CROSS JOIN LATERAL (SELECT pg_temp.paris(g.due + s.off, 1) AS t) x
WHERE NOT g.cancelled AND g.due + s.off <= date :'as_of'
  AND (f.paid_on IS NULL OR f.paid_on > g.due + s.off)
ORDER BY g.id, s.off;

INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, created_at, updated_at)
SELECT g.id, s.stage,
       CASE WHEN s.stage = 'j45' OR (s.stage = 'j30' AND g.amount >= 5000) THEN 'held'
            ELSE 'planned' END,
       pg_temp.paris(g.due + s.off, 0), pg_temp.paris(date :'as_of', 1),
       pg_temp.paris(date :'as_of', 1)
FROM gen g
JOIN dunning.invoice i ON i.id = g.id AND i.status = 'open'
LEFT JOIN gen_full f ON f.id = g.id
CROSS JOIN (VALUES ('j3', 3, -100000), ('j10', 10, 3), ('j30', 30, 10), ('j45', 45, 30))
	s(stage, off, prev)
WHERE f.id IS NULL AND g.due + s.prev <= date :'as_of' AND g.due + s.off > date :'as_of'
ORDER BY g.id;

-- Disputes, pauses and escalations, as the daemon and the lawyers would
-- have left them (streams 17 to 21, so the draws above do not move):
--   - 1 % of the open invoices not fully paid are disputed 12 days after
--     their due date (after j10): the later stages were not sent, the
--     pending one is cancelled;
--   - 1 % of the open invoices not fully paid, and 0.5 % of the clients,
--     are paused until 1 to 30 days after as_of; a pending stage then
--     waits for that date;
--   - an open invoice not fully paid, not disputed, whose j45 left more
--     than 15 days ago was handed over (escalated_at), so it is no longer
--     a candidate of the planning pass.
UPDATE dunning.invoice i
SET disputed_at = pg_temp.paris(i.due_on + 12, 2), dispute_reason = 'honoraires contestés'
WHERE i.status = 'open' AND i.due_on + 12 <= date :'as_of'
  AND pg_temp.u(i.id, 17, :seed) < 0.01
  AND NOT EXISTS (SELECT 1 FROM gen_full f WHERE f.id = i.id);

DELETE FROM dunning.reminder r USING dunning.invoice i
WHERE i.id = r.invoice_id AND i.disputed_at IS NOT NULL AND r.state = 'sent'
  AND r.sent_at > i.disputed_at;

UPDATE dunning.reminder r SET state = 'cancelled', reason = 'disputed',
	updated_at = i.disputed_at
FROM dunning.invoice i
WHERE i.id = r.invoice_id AND i.disputed_at IS NOT NULL
  AND r.state IN ('planned', 'held', 'approved');

UPDATE dunning.invoice i
SET paused_until = date :'as_of' + 1 + floor(pg_temp.u(i.id, 19, :seed) * 30)::integer
WHERE i.status = 'open' AND i.disputed_at IS NULL AND pg_temp.u(i.id, 18, :seed) < 0.01
  AND NOT EXISTS (SELECT 1 FROM gen_full f WHERE f.id = i.id);

UPDATE dunning.client c
SET paused_until = date :'as_of' + 1 + floor(pg_temp.u(c.id, 21, :seed) * 30)::integer
WHERE pg_temp.u(c.id, 20, :seed) < 0.005;

UPDATE dunning.reminder r
SET scheduled_for = greatest(r.scheduled_for,
	pg_temp.paris(greatest(i.paused_until, c.paused_until), 0))
FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
WHERE i.id = r.invoice_id AND r.state IN ('planned', 'held', 'approved')
  AND greatest(i.paused_until, c.paused_until) IS NOT NULL;

UPDATE dunning.invoice i SET escalated_at = pg_temp.paris(i.due_on + 60, 1)
WHERE i.status = 'open' AND i.disputed_at IS NULL AND i.due_on + 60 <= date :'as_of'
  AND NOT EXISTS (SELECT 1 FROM gen_full f WHERE f.id = i.id);

-- A pending stage waits, as the daemon plans it, for the first send
-- window on or after its day: the next business day (Monday to Friday, not
-- a French public holiday: the fixed ones, Easter Monday, Ascension, Whit
-- Monday), 09:00.
CREATE FUNCTION pg_temp.business(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
	SELECT min(x)::date FROM generate_series(d, d + 10, interval '1 day') x
	WHERE extract(isodow FROM x) < 6
	  AND to_char(x, 'MM-DD') NOT IN ('01-01', '05-01', '05-08', '07-14', '08-15', '11-01',
	                                  '11-11', '12-25')
	  AND x::date NOT IN (SELECT e + o FROM unnest(ARRAY[date '2023-04-09', '2024-03-31',
	      '2025-04-20', '2026-04-05', '2027-03-28', '2028-04-16']) e,
	      unnest(ARRAY[1, 39, 50]) o)
$$;

UPDATE dunning.reminder r
SET scheduled_for = pg_temp.paris(pg_temp.business((r.scheduled_for AT TIME ZONE
	'Europe/Paris')::date), 0)
WHERE r.state IN ('planned', 'held', 'approved')
  AND pg_temp.business((r.scheduled_for AT TIME ZONE 'Europe/Paris')::date)
      <> (r.scheduled_for AT TIME ZONE 'Europe/Paris')::date;

SELECT count(setval(pg_get_serial_sequence('dunning.' || t, 'id'), m)) AS sequences
FROM (VALUES ('lawyer', (SELECT max(id) FROM dunning.lawyer)),
             ('client', (SELECT max(id) FROM dunning.client)),
             ('invoice', (SELECT max(id) FROM dunning.invoice)),
             ('payment', (SELECT max(id) FROM dunning.payment)),
             ('reminder', (SELECT max(id) FROM dunning.reminder))) v(t, m)
\gset
COMMIT;
RESET session_replication_role;

VACUUM (ANALYZE) dunning.lawyer, dunning.client, dunning.invoice, dunning.payment,
	dunning.reminder;

\unset QUIET
SELECT (SELECT count(*) FROM dunning.client) AS clients,
       (SELECT count(*) FROM dunning.invoice) AS invoices,
       (SELECT count(*) FROM dunning.payment) AS payments,
       (SELECT count(*) FROM dunning.reminder) AS reminders;
