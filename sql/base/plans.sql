-- The payment plans' trigger function (026): a plan's invoices are "open"
-- (plan_invoice.open, under the unique index plan_invoice_one_open) while
-- the plan is proposed or active, so an invoice is in at most one such
-- plan, whichever function or role changes the plan's state.
--
-- Repeatable, base/ (sql/README.md): created before the numbered
-- migrations, its signature names no table, it grants nothing.

CREATE OR REPLACE FUNCTION dunning.payment_plan_open() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	UPDATE dunning.plan_invoice SET open = NEW.state IN ('proposed', 'active')
	WHERE plan_id = NEW.id;
	RETURN NULL;
END
$$;
