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

-- Rule 13, partial legal aid: the last day an agreement signed on
-- P_SIGNED may reach the bâtonnier.  « Dans les quinze jours de sa
-- signature » (loi n° 91-647 art. 35) counts calendar days from the day
-- after the signature (the day of the act is not counted, as in art. 641
-- of the code de procédure civile), so the fifteenth day is the last
-- valid one: signed on 3 March, filed on 18 March at the latest.
CREATE OR REPLACE FUNCTION dunning.legal_aid_deadline(p_signed date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
	SELECT p_signed + 15
$$;

-- Rule 13, partial legal aid: queue, at the one clock's today, the alert
-- due for each signed agreement not yet filed (of P_AGREEMENT only, when
-- given): 'signed' from its signature, 'soon' from five days before its
-- last day, 'deadline' from its last day on.  Only the latest step due is
-- queued: one recorded late does not tell the earlier ones afterwards;
-- each step is told once (event_key), none once filed.  Set-based: one
-- statement for all agreements, run by the daemon at each pass of the
-- lawyers' mail and by dunning.agreement_signed in its own transaction.
-- Returns how many alerts were queued.
CREATE OR REPLACE FUNCTION dunning.legal_aid_alerts_queue(p_agreement bigint DEFAULT NULL)
RETURNS integer
LANGUAGE sql AS $$
	WITH due AS (
		SELECT a.id, a.client_id, a.matter_ref, a.signed_on,
		       dunning.legal_aid_deadline(a.signed_on) AS deadline,
		       CASE WHEN dunning.today() >= dunning.legal_aid_deadline(a.signed_on)
		            THEN 'deadline'
		            WHEN dunning.today() >= dunning.legal_aid_deadline(a.signed_on) - 5
		            THEN 'soon'
		            ELSE 'signed' END AS step
		FROM dunning.fee_agreement a
		WHERE a.legal_aid = 'partial' AND a.batonnier_filed_on IS NULL
		  AND a.signed_on IS NOT NULL AND a.signed_on <= dunning.today()
		  AND (p_agreement IS NULL OR a.id = p_agreement)
	), ins AS (
		INSERT INTO dunning.lawyer_alert (lawyer_id, kind, agreement_id, event_key, details)
		SELECT c.lawyer_id, 'legal_aid', d.id, 'legal_aid:' || d.id || ':' || d.step,
		       jsonb_build_object('step', d.step, 'agreement_id', d.id,
		                          'matter_ref', d.matter_ref, 'signed_on', d.signed_on,
		                          'deadline', d.deadline, 'invoices', '[]'::jsonb)
		FROM due d JOIN dunning.client c ON c.id = d.client_id
		ON CONFLICT ON CONSTRAINT lawyer_alert_once DO NOTHING
		RETURNING 1
	)
	SELECT count(*)::integer FROM ins
$$;

-- Rule 13, partial legal aid: what lawyer P_LAWYER's digest lists at the
-- one clock's today, the agreements of their clients signed and not yet
-- filed, until thirty days after their last day (then the alerts have
-- said it three times and the agreement is void).
CREATE OR REPLACE FUNCTION dunning.legal_aid_pending(p_lawyer bigint)
RETURNS TABLE (agreement_id bigint, matter_ref text, client_name text, signed_on date,
               last_day date)
LANGUAGE sql STABLE AS $$
	SELECT a.id, a.matter_ref, dunning.notify_client_name(c), a.signed_on,
	       dunning.legal_aid_deadline(a.signed_on)
	FROM dunning.fee_agreement a JOIN dunning.client c ON c.id = a.client_id
	WHERE c.lawyer_id = p_lawyer AND a.legal_aid = 'partial'
	  AND a.batonnier_filed_on IS NULL AND a.signed_on IS NOT NULL
	  AND a.signed_on <= dunning.today()
	  AND dunning.legal_aid_deadline(a.signed_on) + 30 >= dunning.today()
	ORDER BY 5, 1
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
	-- partial legal aid: the lawyer is told at once (the same transaction)
	PERFORM dunning.legal_aid_alerts_queue(agr.id);
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
REVOKE EXECUTE ON FUNCTION dunning.legal_aid_alerts_queue(bigint),
	dunning.legal_aid_pending(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.legal_aid_alerts_queue(bigint),
	dunning.legal_aid_pending(bigint) TO dunning_daemon, dunning_admin;
REVOKE EXECUTE ON FUNCTION dunning.agreement_signed(bigint, date),
	dunning.agreement_filed(bigint, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.agreement_signed(bigint, date),
	dunning.agreement_filed(bigint, date) TO dunning_lawyer, dunning_admin;
