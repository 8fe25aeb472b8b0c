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

-- Only the owner's functions and the triggers (which now run as the owner)
-- queue a wake-up.
REVOKE EXECUTE ON FUNCTION dunning.wake(text, bigint, bigint) FROM PUBLIC;
