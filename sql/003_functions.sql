-- 003: a payment waits for a send in flight on its invoice, and is audited
-- and wakes the daemon.  The functions a lawyer calls from psql (SPEC
-- §3.1), first written here, are in functions/lawyer_actions.sql; the
-- triggers' functions in base/send_lock.sql and base/wake.sql.

CREATE TRIGGER payment_lock BEFORE INSERT ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_before();
CREATE TRIGGER payment_audit AFTER INSERT ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_after();
