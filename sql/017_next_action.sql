-- 017: each invoice keeps the instant the planner should look at it again.
--
-- A planning pass read the whole book being chased (every open, unpaid
-- invoice past its first stage, and every invoice with a reminder not sent:
-- 43 188 of 1 000 000 in bench/portfolio.sql) to find, most days, nothing
-- to do.  Now the planner writes with each decision the instant its
-- decision can next change (next_action_at: the day the next stage or the
-- hand-over falls due, the close of the send window on the day a message
-- is to leave, the next day while a reminder waits for a person), and a
-- pass reads the invoices whose instant has come, by index
-- (pipeline/plan.c).  An invoice with nothing to come until one of its
-- facts changes (paid, closed, disputed, handed over) has none.
--
-- The bookmark is a row of its own table, one per invoice that has one,
-- not a column of dunning.invoice: an invoice row is wide and has nine
-- indexes, and the planner moves the bookmark of every invoice it looks
-- at (17 µs per row as an UPDATE of the invoice, 4 µs here).
--
-- A change of the facts the policy reads sets it to -infinity (look at it
-- at the next pass, whatever the clock), in the transaction that changes
-- them: the invoice's amount, payments (paid_total, last_paid_at), status,
-- due date, currency, dispute, pause, hand-over or client; a client's pause
-- or strategic flag, for each of its open invoices.  A new invoice gets
-- one at -infinity when it is open, unpaid and not handed over (also when
-- loaded as a restore does, under session_replication_role = replica).
-- What the planner cannot see coming — a reminder sent, approved, rejected
-- or settled by a lawyer — is looked at again the next day at the latest
-- (the running daemon, woken by NOTIFY, plans it at once); a change of the
-- rules in the configuration makes the next pass read every open invoice
-- again (setting plan_rules), as does the daemon's start.

CREATE TABLE dunning.invoice_next_action (
	invoice_id     bigint PRIMARY KEY REFERENCES dunning.invoice ON DELETE CASCADE,
	next_action_at timestamptz NOT NULL
);
COMMENT ON TABLE dunning.invoice_next_action IS
'When the planner looks at an invoice again: written with each decision, -infinity after a change of its facts; no row when only such a change can matter (sql/017).';

-- The pass's candidates: a range of this index.
CREATE INDEX invoice_next_action_at_idx ON dunning.invoice_next_action (next_action_at);

-- What a pass could have something to do with: every open, unpaid
-- invoice not handed over, and every invoice with a reminder not sent.
INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
SELECT id, '-infinity' FROM dunning.invoice
WHERE (status = 'open' AND escalated_at IS NULL AND amount > paid_total)
   OR id IN (SELECT invoice_id FROM dunning.reminder
             WHERE state IN ('planned', 'held', 'approved', 'sending', 'in_doubt', 'failed'));

-- Read like the invoices (009): a lawyer sees the bookmarks of the
-- invoices they see (dunningctl preview reads the facts with them); the
-- daemon writes them; the triggers, as the owner, mark them.
REVOKE ALL ON dunning.invoice_next_action FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON dunning.invoice_next_action TO dunning_daemon;
GRANT SELECT ON dunning.invoice_next_action TO dunning_lawyer, dunning_accountant,
	dunning_admin;
ALTER TABLE dunning.invoice_next_action ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.invoice_next_action FORCE ROW LEVEL SECURITY;
CREATE POLICY next_action_read ON dunning.invoice_next_action FOR SELECT
	TO dunning_lawyer, dunning_accountant, dunning_admin
	USING (EXISTS (SELECT 1 FROM dunning.invoice i WHERE i.id = invoice_id));
CREATE POLICY next_action_daemon ON dunning.invoice_next_action
	TO dunning_daemon USING (true) WITH CHECK (true);
CREATE POLICY next_action_owner ON dunning.invoice_next_action
	TO CURRENT_USER USING (true) WITH CHECK (true);

CREATE TRIGGER invoice_look_first AFTER INSERT ON dunning.invoice
	FOR EACH ROW
	WHEN (NEW.status = 'open' AND NEW.escalated_at IS NULL AND NEW.amount > NEW.paid_total)
	EXECUTE FUNCTION dunning.invoice_look_again();
CREATE TRIGGER invoice_look_again AFTER UPDATE OF amount, paid_total, last_paid_at, status,
	due_on, currency, disputed_at, dispute_cleared_at, paused_until, escalated_at, client_id
	ON dunning.invoice
	FOR EACH ROW
	WHEN ((OLD.amount, OLD.paid_total, OLD.last_paid_at, OLD.status, OLD.due_on,
	       OLD.currency, OLD.disputed_at, OLD.dispute_cleared_at, OLD.paused_until,
	       OLD.escalated_at, OLD.client_id)
	      IS DISTINCT FROM (NEW.amount, NEW.paid_total, NEW.last_paid_at, NEW.status,
	       NEW.due_on, NEW.currency, NEW.disputed_at, NEW.dispute_cleared_at,
	       NEW.paused_until, NEW.escalated_at, NEW.client_id))
	EXECUTE FUNCTION dunning.invoice_look_again();
CREATE TRIGGER client_look_again AFTER UPDATE OF paused_until, strategic ON dunning.client
	FOR EACH ROW
	WHEN (OLD.paused_until IS DISTINCT FROM NEW.paused_until
	      OR OLD.strategic IS DISTINCT FROM NEW.strategic)
	EXECUTE FUNCTION dunning.client_look_again();
ALTER TABLE dunning.invoice ENABLE ALWAYS TRIGGER invoice_look_first;
ALTER TABLE dunning.invoice ENABLE ALWAYS TRIGGER invoice_look_again;
ALTER TABLE dunning.client ENABLE ALWAYS TRIGGER client_look_again;

-- The rules the decisions were written under (lib/policy.c,
-- policy_rules()): the daemon reads every open invoice again when its
-- configuration's differ.
INSERT INTO dunning.setting VALUES ('plan_rules', '');
