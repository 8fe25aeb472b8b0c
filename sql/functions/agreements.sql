-- The functions of the fee agreements (SPEC §2 rule 13, §3.1): a lawyer
-- records that an agreement was signed, or filed with the bâtonnier (partial
-- legal aid).  As in functions/lawyer_actions.sql: each validates its
-- input, follows the one clock, checks the caller by session_user through
-- dunning.my_client (an agreement of another lawyer's client is reported
-- exactly as an unknown one), writes its audit row and wakes the daemon.
-- EXECUTE is granted to the lawyer and admin roles only.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- Lock agreement P_ID of one of the caller's clients, or say it is unknown.
CREATE OR REPLACE FUNCTION dunning.agreement_for_update(p_id bigint)
RETURNS dunning.fee_agreement
LANGUAGE plpgsql AS $$
DECLARE
	agr dunning.fee_agreement;
BEGIN
	SELECT * INTO agr FROM dunning.fee_agreement WHERE id = p_id;
	IF NOT FOUND OR NOT dunning.my_client(agr.client_id) THEN
		RAISE EXCEPTION 'no fee agreement with id %', p_id
			USING ERRCODE = 'no_data_found';
	END IF;
	SELECT * INTO agr FROM dunning.fee_agreement WHERE id = p_id FOR UPDATE;
	RETURN agr;
END
$$;

-- A date a lawyer records: given, not in the future of the one clock.
CREATE OR REPLACE FUNCTION dunning.check_record_date(p_on date, p_what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_on IS NULL THEN
		RAISE EXCEPTION '% must be given', p_what USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_on > dunning.today() THEN
		RAISE EXCEPTION '% % is in the future', p_what, p_on
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

-- Rule 13: the client signed agreement AGREEMENT_ID on ON_DATE; its
-- invoices may now claim the interest of its clause, and its chase stops.
CREATE OR REPLACE FUNCTION dunning.agreement_signed(agreement_id bigint, on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	agr dunning.fee_agreement := dunning.agreement_for_update(agreement_signed.agreement_id);
BEGIN
	PERFORM dunning.check_record_date(on_date, 'the signature date');
	IF agr.signed_on IS NOT NULL THEN
		RAISE EXCEPTION 'fee agreement % is already recorded as signed on %', agr.id, agr.signed_on
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF agr.sent_on IS NOT NULL AND on_date < agr.sent_on THEN
		RAISE EXCEPTION 'fee agreement % was sent on %: it cannot be signed on %',
			agr.id, agr.sent_on, on_date USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE dunning.fee_agreement a SET signed_on = on_date WHERE a.id = agr.id;
	PERFORM dunning.audit(session_user, 'agreement_signed', NULL, NULL,
		jsonb_build_object('client_id', agr.client_id, 'agreement_id', agr.id,
			'signed_on', on_date, 'legal_aid', agr.legal_aid,
			'interest_clause', agr.interest_clause));
	PERFORM dunning.wake('agreement', NULL, agr.client_id);
END
$$;

-- Rule 13: a signed agreement under partial legal aid reached the
-- bâtonnier on ON_DATE (loi n° 91-647 art. 35).
CREATE OR REPLACE FUNCTION dunning.agreement_filed(agreement_id bigint, on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	agr dunning.fee_agreement := dunning.agreement_for_update(agreement_filed.agreement_id);
BEGIN
	PERFORM dunning.check_record_date(on_date, 'the filing date');
	IF agr.legal_aid <> 'partial' THEN
		RAISE EXCEPTION 'fee agreement % is not under partial legal aid: nothing to file', agr.id
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF agr.signed_on IS NULL THEN
		RAISE EXCEPTION 'fee agreement % is not signed yet', agr.id
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF on_date < agr.signed_on THEN
		RAISE EXCEPTION 'fee agreement % was signed on %: it cannot be filed on %',
			agr.id, agr.signed_on, on_date USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF agr.batonnier_filed_on IS NOT NULL THEN
		RAISE EXCEPTION 'fee agreement % is already recorded as filed on %',
			agr.id, agr.batonnier_filed_on USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE dunning.fee_agreement a SET batonnier_filed_on = on_date WHERE a.id = agr.id;
	PERFORM dunning.audit(session_user, 'agreement_filed', NULL, NULL,
		jsonb_build_object('client_id', agr.client_id, 'agreement_id', agr.id,
			'filed_on', on_date, 'signed_on', agr.signed_on));
	PERFORM dunning.wake('agreement', NULL, agr.client_id);
END
$$;

REVOKE EXECUTE ON FUNCTION dunning.agreement_for_update(bigint),
	dunning.check_record_date(date, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION dunning.agreement_signed(bigint, date),
	dunning.agreement_filed(bigint, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.agreement_signed(bigint, date),
	dunning.agreement_filed(bigint, date) TO dunning_lawyer, dunning_admin;
