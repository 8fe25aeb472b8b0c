-- 017: each invoice keeps the instant the planner should look at it again.
--
-- A planning pass read the whole book being chased (every open, unpaid
-- invoice past its first stage, and every invoice with a reminder not sent:
-- 43 188 of 1 000 000 in bench/portfolio.sql) to find, most days, nothing
-- to do.  Now the planner writes with each decision the instant its
-- decision can next change (invoice.next_action_at: the day the next stage
-- or the hand-over falls due, the day after a reminder should have left,
-- NULL when only a change of facts can matter), and a pass reads the
-- invoices whose instant has come, by index (pipeline/plan.c).
--
-- A change of the facts the policy reads sets it to -infinity (look at it
-- at the next pass, whatever the clock): the invoice's amount, payments
-- (paid_total, last_paid_at), status, due date, currency, dispute, pause,
-- hand-over or client; a client's pause or strategic flag, for each of its
-- open invoices.  A new invoice starts at -infinity when it is open,
-- unpaid and not handed over (also when loaded as a restore does, under
-- session_replication_role = replica), else NULL.  What the planner
-- cannot see coming — a reminder sent, approved, rejected or settled by a
-- lawyer — is looked at again the next day at the latest (the running
-- daemon, woken by NOTIFY, plans it at once), and a change of the rules
-- in the configuration makes the next pass read every open invoice again
-- (setting plan_rules).

ALTER TABLE dunning.invoice ADD COLUMN next_action_at timestamptz;
COMMENT ON COLUMN dunning.invoice.next_action_at IS
'When the planner looks at this invoice again: written with each decision, -infinity after a change of its facts, NULL when only such a change can matter (sql/017).';

-- What a pass could have something to do with: every open, unpaid
-- invoice not handed over, and every invoice with a reminder not sent.
UPDATE dunning.invoice SET next_action_at = '-infinity'
WHERE (status = 'open' AND escalated_at IS NULL AND amount > paid_total)
   OR id IN (SELECT invoice_id FROM dunning.reminder
             WHERE state IN ('planned', 'held', 'approved', 'sending', 'in_doubt', 'failed'));

GRANT UPDATE (next_action_at) ON dunning.invoice TO dunning_daemon;

-- The pass's candidates: a range of this index.
CREATE INDEX invoice_next_action_idx ON dunning.invoice (next_action_at)
	WHERE next_action_at IS NOT NULL;

CREATE TRIGGER invoice_look_first BEFORE INSERT ON dunning.invoice
	FOR EACH ROW EXECUTE FUNCTION dunning.invoice_look_again();
CREATE TRIGGER invoice_look_again BEFORE UPDATE OF amount, paid_total, last_paid_at, status,
	due_on, currency, disputed_at, dispute_cleared_at, paused_until, escalated_at, client_id
	ON dunning.invoice
	FOR EACH ROW EXECUTE FUNCTION dunning.invoice_look_again();
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
