-- The payment plans' trigger function (026): a plan's invoices are "open"
-- (plan_invoice.open, under the unique index plan_invoice_one_open) while
-- the plan is proposed or active, so an invoice is in at most one such
-- plan, whichever function or role changes the plan's state; and each of
-- them goes to the planner's next pass (its bookmark, 017), since the
-- policy reads whether its plan is active and when one ended (rule 11).
--
-- Repeatable, base/ (sql/README.md): created before the numbered
-- migrations, its signature names no table, it grants nothing.

CREATE OR REPLACE FUNCTION dunning.payment_plan_open() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	UPDATE dunning.plan_invoice SET open = NEW.state IN ('proposed', 'active')
	WHERE plan_id = NEW.id;
	INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
	SELECT invoice_id, '-infinity' FROM dunning.plan_invoice WHERE plan_id = NEW.id
	ORDER BY invoice_id
	ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = '-infinity'
	WHERE invoice_next_action.next_action_at <> '-infinity';
	RETURN NULL;
END
$$;
