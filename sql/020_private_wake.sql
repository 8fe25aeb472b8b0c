-- 020: private wake-ups and send locks (issue 17, items 4 and 5).
--
-- Wake-ups.  NOTIFY carries no ids any more: a payload on channel
-- 'dunning' is heard by every role that LISTENs, so a lawyer read the
-- invoice and client ids of the other lawyers' disputes and payments, and
-- any role's NOTIFY made the daemon plan.  dunning.wake (base/wake.sql)
-- now queues what changed in dunning.wake_queue, which only the owner (the
-- SECURITY DEFINER functions and triggers) writes and only the daemon
-- reads and empties, and NOTIFYs an empty payload: the daemon takes the
-- queue in one statement (pipeline/plan.c, plan_take_woken) and plans what
-- it names.  A NOTIFY from anyone else finds the queue empty and plans
-- nothing.  A row taken but not yet planned when the daemon dies is not
-- lost: the change that queued it also set the invoice's bookmark (017) or
-- left a reminder the claim reads, and the daemon reads every open
-- invoice at its start.
CREATE TABLE dunning.wake_queue (
	id         bigserial PRIMARY KEY,
	event      text NOT NULL,
	invoice_id bigint,
	client_id  bigint
);
COMMENT ON TABLE dunning.wake_queue IS
'What changed since the daemon last looked: written by dunning.wake (as the owner), taken and emptied by the daemon; no other role reads it (sql/020).';
REVOKE ALL ON dunning.wake_queue FROM PUBLIC;
REVOKE ALL ON SEQUENCE dunning.wake_queue_id_seq FROM PUBLIC;
GRANT SELECT, DELETE ON dunning.wake_queue TO dunning_daemon;

-- Send locks.  They were advisory locks, which every role may take: a
-- lawyer holding pg_advisory_lock(1685417582, id) on any invoice kept its
-- reminders from leaving and made its payments wait.  Now the send lock of
-- an invoice is the row lock of its row here: locking a row (FOR UPDATE)
-- needs the UPDATE right, which only the owner (dunning.lock_invoice,
-- SECURITY DEFINER, called by the lawyers' functions and the payment and
-- invoice triggers) and the daemon have.  One row per invoice, made with
-- the invoice (invoice_send_lock_row, also when loaded as a restore does)
-- and for every invoice already there.  A row lock lives as long as its
-- transaction: the sender keeps the one of the message it hands in a
-- transaction open until the outcome is recorded (pipeline/outcome.c).
CREATE TABLE dunning.send_lock (
	invoice_id bigint PRIMARY KEY
);
COMMENT ON TABLE dunning.send_lock IS
'One row per invoice: its row lock is the invoice''s send lock, which only the owner''s functions and the daemon can take (sql/020).';
REVOKE ALL ON dunning.send_lock FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON dunning.send_lock TO dunning_daemon;
INSERT INTO dunning.send_lock (invoice_id) SELECT id FROM dunning.invoice
ON CONFLICT (invoice_id) DO NOTHING;

CREATE TRIGGER invoice_send_lock_row AFTER INSERT ON dunning.invoice
	FOR EACH ROW EXECUTE FUNCTION dunning.invoice_send_lock_row();
ALTER TABLE dunning.invoice ENABLE ALWAYS TRIGGER invoice_send_lock_row;

-- Only the owner's functions and the triggers (which now run as the owner)
-- queue a wake-up or take a send lock.
REVOKE EXECUTE ON FUNCTION dunning.wake(text, bigint, bigint), dunning.lock_invoice(bigint)
	FROM PUBLIC;
