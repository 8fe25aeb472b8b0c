-- 008: wake the daemon on every change the billing software or an
-- administrator makes outside the lawyers' functions (which NOTIFY
-- themselves, 003): an invoice's amount, status, dispute or pause, a payment
-- corrected or deleted, a client's pause or strategic flag.  The daemon
-- plans the invoice named at once (SPEC §2 rules 3 and 4), or everything
-- for a client-wide change; its poll timer remains the safety net.  The
-- triggers' functions are in base/wake.sql.

CREATE TRIGGER invoice_wake AFTER UPDATE OF amount, status, disputed_at, paused_until,
	client_id ON dunning.invoice
	FOR EACH ROW
	WHEN (OLD.amount IS DISTINCT FROM NEW.amount OR OLD.status IS DISTINCT FROM NEW.status
	      OR OLD.disputed_at IS DISTINCT FROM NEW.disputed_at
	      OR OLD.paused_until IS DISTINCT FROM NEW.paused_until
	      OR OLD.client_id IS DISTINCT FROM NEW.client_id)
	EXECUTE FUNCTION dunning.invoice_wake();

CREATE TRIGGER payment_wake AFTER UPDATE OR DELETE ON dunning.payment
	FOR EACH ROW EXECUTE FUNCTION dunning.payment_wake();

CREATE TRIGGER client_wake AFTER UPDATE OF paused_until, strategic, email ON dunning.client
	FOR EACH ROW
	WHEN (OLD.paused_until IS DISTINCT FROM NEW.paused_until
	      OR OLD.strategic IS DISTINCT FROM NEW.strategic
	      OR OLD.email IS DISTINCT FROM NEW.email)
	EXECUTE FUNCTION dunning.client_wake();
