-- 005: what the accountant's reports need of the tables: the day an
-- invoice was written off, and the indexes the reports read.  The reports
-- themselves (functions and views, their definitions, comments and
-- grants) are in views/reports.sql; dunning.firm_tz and dunning.day_end in
-- functions/calendar.sql.

-- The day an invoice was written off (not contract), which the status
-- alone does not tell: the invoice was receivable until then, and its loss
-- counts in the kpi of the 365 days that include it.  The trigger below
-- (its function in base/invoice_totals.sql) sets it to the firm's today
-- when the status becomes 'written_off' (or keeps the date the writer
-- gives) and clears it when the status changes back.  An
-- invoice written off before this migration has no date: it is receivable
-- at no date and its loss counts in no year.
ALTER TABLE dunning.invoice ADD COLUMN written_off_on date;

CREATE TRIGGER invoice_written_off BEFORE INSERT OR UPDATE OF status, written_off_on
	ON dunning.invoice FOR EACH ROW EXECUTE FUNCTION dunning.invoice_written_off();

-- The payments of each invoice in time order, with their amounts.
CREATE INDEX payment_report_idx ON dunning.payment (invoice_id, received_at) INCLUDE (amount);
-- What the figures need of each invoice, in id order.
CREATE INDEX invoice_report_idx ON dunning.invoice (id)
	INCLUDE (client_id, status, currency, amount, issued_on, due_on, written_off_on);
-- Sent reminders per invoice in time order (last stage, stage effectiveness)
-- and by time (reminders sent in the last 30 days).
CREATE INDEX reminder_sent_idx ON dunning.reminder (invoice_id, sent_at)
	INCLUDE (stage) WHERE state = 'sent';
CREATE INDEX reminder_sent_at_idx ON dunning.reminder (sent_at)
	INCLUDE (invoice_id) WHERE state = 'sent';
-- The reminder of an invoice that has not left yet (next stage).
CREATE INDEX reminder_pending_idx ON dunning.reminder (invoice_id, scheduled_for, id)
	INCLUDE (stage, state) WHERE state IN ('planned', 'held', 'approved');

COMMENT ON COLUMN dunning.invoice.written_off_on IS
'Not contract. The firm''s date on which the invoice was written off: set to dunning.today() when the status becomes written_off (unless given), cleared when it changes back. Receivable until then; kpi.written_off_365d counts its loss on that date.';
