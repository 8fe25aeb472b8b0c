-- 014: the daemon's planning pass without reading every invoice.
--
-- A planning pass reads its candidates: the invoices open, not paid in
-- full, not handed over and due long enough ago for the first stage, and
-- those with a reminder that has not left.  It found the first kind by
-- walking every invoice with the sum of its payments (1 000 000 invoices,
-- 2 000 000 payments: bench/portfolio.sql), so its cost grew with the whole
-- history even on a day when nothing was due.  Now pipeline/plan.c reads
-- what was paid from invoice.paid_total (013) and takes its candidates
-- from two partial indexes:
--   - invoice_to_chase_idx below: the invoices being chased, by due date (a
--     range scan up to the day of the first stage);
--   - reminder_pending_idx (005): the invoices with a reminder not sent.
-- Both hold the book being chased, a few per cent of the history; an
-- invoice leaves the first when it is paid in full, closed or handed over.
--
-- The sender's claim reads the due reminders in (scheduled_for, id) order,
-- 64 at a time (pipeline/claim.c).  reminder_pending_idx (005) leads with
-- invoice_id, and reminder_due_idx (001) is ordered by scheduled_for alone:
-- the reminders sharing one instant (a day's batch planned for the
-- window's opening) were all read and sorted by id for each read (10 ms
-- with 10 000 due at one instant).  It becomes (scheduled_for, id): a read
-- stops after its 64 rows (0.1 ms).

-- The invoices the policy may still send a stage for, by due date: open,
-- not handed over, not paid in full (amount > paid_total: the balance of
-- SPEC §3.1).  The id is included so that the candidate query reads the
-- index alone.
CREATE INDEX invoice_to_chase_idx ON dunning.invoice (due_on) INCLUDE (id)
	WHERE status = 'open' AND escalated_at IS NULL AND amount > paid_total;

-- The sender's claim: due rows in the order they are claimed (replaces
-- 001's reminder_due_idx on scheduled_for alone).
CREATE INDEX reminder_claim_idx ON dunning.reminder (scheduled_for, id)
	WHERE state IN ('planned', 'approved');
DROP INDEX dunning.reminder_due_idx;
