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
