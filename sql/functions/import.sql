-- The imports' audit rows (issue 20, SPEC §3.3): dunningctl import and
-- import-statement write one row per file with its counts (the payments
-- they record are audited one by one by the payment's own trigger,
-- base/wake.sql), payment-assign one row per entry placed by hand.
--
-- Repeatable (sql/README.md): change it here, never in a numbered migration.

-- Write the audit row of an import: P_ACTION one of the imports' actions,
-- P_DETAILS its counts.  Definer's rights: the administrator writes no
-- audit row directly (009); the function checks the caller is staff, and
-- only the administrator may execute it.
CREATE OR REPLACE FUNCTION dunning.import_audit(p_action text, p_invoice bigint,
                                                p_details jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	IF NOT dunning.is_staff() THEN
		RAISE EXCEPTION 'only the administrator imports'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF p_action NOT IN ('import_invoices', 'import_clients', 'import_payments',
	                    'import_statement', 'statement_entry_assigned') THEN
		RAISE EXCEPTION 'not an import: %', p_action;
	END IF;
	PERFORM dunning.audit(session_user, p_action, p_invoice, NULL, p_details);
END
$$;
REVOKE EXECUTE ON FUNCTION dunning.import_audit(text, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.import_audit(text, bigint, jsonb) TO dunning_admin;

-- Place by hand a statement's entry left unmatched (dunningctl
-- payment-assign): a payment of its amount on invoice P_INVOICE, received
-- on its booking day, its reference the bank's; the entry then names it.
-- The caller's rights (the administrator's): row-level security applies.
-- Returns the payment's id.
CREATE OR REPLACE FUNCTION dunning.payment_assign(p_entry_ref text, p_invoice text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	e dunning.statement_entry;
	inv dunning.invoice;
	pay bigint;
BEGIN
	SELECT * INTO e FROM dunning.statement_entry WHERE entry_ref = p_entry_ref FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no statement entry %', p_entry_ref;
	END IF;
	IF e.payment_id IS NOT NULL THEN
		RAISE EXCEPTION 'statement entry % is already a payment of invoice %', p_entry_ref,
			(SELECT number FROM dunning.invoice WHERE id = e.invoice_id);
	END IF;
	SELECT * INTO inv FROM dunning.invoice WHERE number = p_invoice;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no invoice numbered %', p_invoice;
	END IF;
	IF inv.currency <> e.currency THEN
		RAISE EXCEPTION 'invoice % is in %, the transfer in %', p_invoice, inv.currency,
			e.currency;
	END IF;
	INSERT INTO dunning.payment (invoice_id, amount, received_at, reference)
	VALUES (inv.id, e.amount, e.booked_on::timestamp AT TIME ZONE dunning.firm_tz(),
	        e.entry_ref)
	RETURNING id INTO pay;
	UPDATE dunning.statement_entry SET invoice_id = inv.id, payment_id = pay,
		matched_by = 'hand' WHERE id = e.id;
	PERFORM dunning.import_audit('statement_entry_assigned', inv.id,
		jsonb_build_object('entry_ref', e.entry_ref, 'payment_id', pay,
		                   'amount', e.amount));
	RETURN pay;
END
$$;
REVOKE EXECUTE ON FUNCTION dunning.payment_assign(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.payment_assign(text, text) TO dunning_admin;
