-- 007: the send lock on every change the billing software can make
-- (base/send_lock.sql).  The operator's way out of 'failed' and
-- 'in_doubt' (SPEC §3.5), dunning.resend and dunning.mark_sent, first
-- written here, are in functions/lawyer_actions.sql.

CREATE TRIGGER invoice_lock BEFORE UPDATE OF amount, status, disputed_at, paused_until,
	client_id ON dunning.invoice
	FOR EACH ROW EXECUTE FUNCTION dunning.invoice_update_lock();

CREATE TRIGGER payment_change_lock BEFORE UPDATE OR DELETE ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_change_lock();
