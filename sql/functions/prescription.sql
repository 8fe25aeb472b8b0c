-- The prescription watch (SPEC §2 rule 14): the lawyer's written
-- acknowledgement of a debt, and the alerts before an invoice prescribes.
-- The view dunning.prescription (views/reports.sql) says when: this file
-- comes after it in sql/meson.build (a SQL function's body names it).
--
-- Repeatable (sql/README.md): change it here, never in a numbered migration.

-- Record a written acknowledgement of the debt of invoice INVOICE_NUMBER,
-- signed by the client ON_DATE: it starts the prescription period again
-- (art. 2240 C. civ.).  A lawyer records it for their own clients only (an
-- invoice of another's is reported as unknown, as flag_dispute does).
CREATE OR REPLACE FUNCTION dunning.acknowledge_debt(invoice_number text, on_date date,
                                                    note text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	inv dunning.invoice := dunning.invoice_for_update(invoice_number);
	ack_id bigint;
BEGIN
	PERFORM dunning.check_record_date(on_date, 'the acknowledgement date');
	IF inv.status <> 'open' OR inv.amount - inv.paid_total <= 0 THEN
		RAISE EXCEPTION 'invoice "%" is closed (%): nothing to acknowledge', inv.number,
			CASE WHEN inv.status <> 'open' THEN inv.status ELSE 'paid' END
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF on_date < inv.issued_on THEN
		RAISE EXCEPTION 'the acknowledgement date % is before the invoice''s issue date %',
			on_date, inv.issued_on USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dunning.debt_acknowledgement (invoice_id, on_date)
	VALUES (inv.id, on_date) RETURNING id INTO ack_id;
	PERFORM dunning.audit(session_user, 'debt_acknowledged', inv.id, NULL,
		jsonb_strip_nulls(jsonb_build_object('on_date', on_date, 'acknowledgement_id',
			ack_id, 'note', nullif(btrim(note), ''))));
	PERFORM dunning.wake('debt_acknowledged', inv.id, inv.client_id);
END
$$;

-- Queue the prescription alerts due today (the digest pass calls it once a
-- day, set-based): for each open unpaid invoice whose days_left is within
-- the smallest threshold of P_DAYS it has reached (and not past: a
-- prescribed claim is not alerted), one alert, keyed by invoice, the
-- period's start and the threshold, so each threshold is told once per
-- period.  Returns the number of alerts queued.
CREATE OR REPLACE FUNCTION dunning.prescription_alerts(p_days integer[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	WITH due AS (
		SELECT i.id, p.invoice_number, p.client_name, p.starts_on, p.prescribes_on,
		       p.days_left,
		       (SELECT min(d) FROM unnest(p_days) d WHERE p.days_left <= d) AS threshold
		FROM dunning.prescription p JOIN dunning.invoice i ON i.number = p.invoice_number
		WHERE p.days_left > 0
	)
	SELECT count(dunning.lawyer_alert_add('prescription',
	           format('prescription:%s:%s:%s', d.id, d.starts_on, d.threshold), d.id, NULL,
	           jsonb_build_object('threshold', d.threshold, 'days_left', d.days_left,
	                              'prescribes_on', d.prescribes_on,
	                              'client_name', d.client_name)))
	INTO n
	FROM due d WHERE d.threshold IS NOT NULL;
	RETURN n;
END
$$;

-- The prescription items of lawyer P_LAWYER's digest, in the columns of
-- dunning.digest_items (section 7): the prescription alerts queued since
-- this lawyer's previous digest day (all the first time) whose invoice is
-- still unpaid in the same period (an interruption since removes it), so
-- the digest tells each threshold once, as the alert does.  since is the
-- first instant of the day it prescribes; attempts holds the threshold.
CREATE OR REPLACE FUNCTION dunning.prescription_digest_items(p_lawyer bigint)
RETURNS TABLE (section integer, reminder_id bigint, invoice_number text, matter_ref text,
               client_name text, balance numeric, currency text, stage text, why text,
               since timestamptz, detail text, attempts integer)
LANGUAGE sql STABLE AS $$
	WITH prev AS (
		SELECT max(d.created_at) AS at FROM dunning.lawyer_digest d
		WHERE d.lawyer_id = p_lawyer AND d.day < dunning.today()
	)
	SELECT DISTINCT ON (i.number) 7, NULL::bigint, i.number, i.matter_ref, p.client_name,
	       dunning.notify_balance(i.id), i.currency::text, NULL::text, NULL::text,
	       dunning.day_end(p.prescribes_on - 1), NULL::text,
	       (a.details->>'threshold')::integer
	FROM dunning.lawyer_alert a
	JOIN dunning.invoice i ON i.id = a.invoice_id
	JOIN dunning.prescription p ON p.invoice_number = i.number
	CROSS JOIN prev
	WHERE a.kind = 'prescription' AND a.lawyer_id = p_lawyer
	  AND (prev.at IS NULL OR a.created_at > prev.at)
	  AND (a.details->>'prescribes_on')::date = p.prescribes_on AND p.days_left > 0
	ORDER BY i.number, a.created_at DESC
$$;

REVOKE EXECUTE ON FUNCTION dunning.acknowledge_debt(text, date, text),
	dunning.prescription_alerts(integer[]), dunning.prescription_digest_items(bigint)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.acknowledge_debt(text, date, text)
	TO dunning_lawyer, dunning_admin;
GRANT EXECUTE ON FUNCTION dunning.prescription_alerts(integer[]),
	dunning.prescription_digest_items(bigint) TO dunning_daemon, dunning_admin;
