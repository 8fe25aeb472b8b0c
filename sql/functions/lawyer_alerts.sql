-- Telling the lawyer (010, whose header says how): queue an alert inside
-- the transaction of its event, and list what a lawyer's digest reports.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- The name a client is addressed by: the company, or first and last name
-- (as the messages to the client say it).
CREATE OR REPLACE FUNCTION dunning.notify_client_name(c dunning.client) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN c.kind = 'professional' AND coalesce(c.company_name, '') <> ''
	            THEN c.company_name
	            ELSE concat_ws(' ', nullif(c.first_name, ''), c.last_name) END
$$;

-- The balance of invoice ID.
CREATE OR REPLACE FUNCTION dunning.notify_balance(p_invoice bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT i.amount - coalesce((SELECT sum(p.amount) FROM dunning.payment p
	                            WHERE p.invoice_id = i.id), 0)
	FROM dunning.invoice i WHERE i.id = p_invoice
$$;

-- Queue an alert for the lawyer of the client concerned, inside the
-- caller's transaction (the event's).  The invoices are P_INVOICE, or
-- those of the reminders P_REMINDERS (one message to one client); the
-- first reminder is the alert's.  Returns the alert's id, or NULL when
-- this event (P_KEY) was already told.
CREATE OR REPLACE FUNCTION dunning.lawyer_alert_add(p_kind text, p_key text, p_invoice bigint,
                                         p_reminders bigint[], p_details jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	inv_ids bigint[];
	invoices jsonb;
	first_invoice bigint;
	lawyer bigint;
	new_id bigint;
BEGIN
	IF p_invoice IS NOT NULL THEN
		inv_ids := ARRAY[p_invoice];
	ELSE
		SELECT array_agg(DISTINCT r.invoice_id) INTO inv_ids
		FROM dunning.reminder r WHERE r.id = ANY (p_reminders);
	END IF;
	IF inv_ids IS NULL THEN
		RAISE EXCEPTION 'lawyer alert %: no invoice', p_key
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT jsonb_agg(jsonb_build_object('number', i.number, 'matter_ref', i.matter_ref,
	                 'balance', dunning.notify_balance(i.id)::text,
	                 'currency', i.currency)
	                 ORDER BY i.due_on, i.number),
	       (array_agg(i.id ORDER BY i.due_on, i.number))[1],
	       min(c.lawyer_id)
	INTO invoices, first_invoice, lawyer
	FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
	WHERE i.id = ANY (inv_ids);
	INSERT INTO dunning.lawyer_alert (lawyer_id, kind, invoice_id, reminder_id, event_key,
	                                  details)
	VALUES (lawyer, p_kind, first_invoice, p_reminders[1], p_key,
	        coalesce(p_details, '{}'::jsonb) || jsonb_build_object('invoices', invoices))
	ON CONFLICT ON CONSTRAINT lawyer_alert_once DO NOTHING
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;

-- What lawyer P_LAWYER's digest lists at the one clock's now, one row per
-- item, by section:
--   1 held      reminders waiting for their approval (why: the reason code)
--   2 failed    reminders that could not be delivered and block the invoice
--   3 in_doubt  sends whose outcome is unknown, for the operator to settle
--   4 escalated invoices handed over since this lawyer's previous digest
--               day (all still open ones the first time)
--   5 disputed  disputes open for P_DISPUTE_DAYS days or more
-- Failed, in-doubt and escalated items are listed only while the invoice
-- is open and unpaid.  No description, note or dispute reason: numbers,
-- file references, names, amounts, stages and dates.
-- Its columns changed (015: why holds the reason's code, detail the relay's
-- answer or the error): a function's result type cannot be replaced.
DROP FUNCTION IF EXISTS dunning.digest_items(bigint, integer);
CREATE OR REPLACE FUNCTION dunning.digest_items(p_lawyer bigint, p_dispute_days integer)
RETURNS TABLE (section integer, reminder_id bigint, invoice_number text, matter_ref text,
               client_name text, balance numeric, currency text, stage text, why text,
               since timestamptz, detail text, attempts integer)
LANGUAGE sql STABLE AS $$
	WITH mine AS (
		SELECT i.*, dunning.notify_client_name(c) AS client_name,
		       dunning.notify_balance(i.id) AS bal
		FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
		WHERE c.lawyer_id = p_lawyer
	), prev AS (
		SELECT max(d.created_at) AS at FROM dunning.lawyer_digest d
		WHERE d.lawyer_id = p_lawyer AND d.day < dunning.today()
	)
	SELECT 1, r.id, m.number, m.matter_ref, m.client_name, m.bal, m.currency::text,
	       r.stage, r.reason, r.scheduled_for, NULL, r.attempts
	FROM dunning.reminder r JOIN mine m ON m.id = r.invoice_id
	WHERE r.state = 'held'
	UNION ALL
	SELECT 2, r.id, m.number, m.matter_ref, m.client_name, m.bal, m.currency::text,
	       r.stage, r.reason, r.updated_at, r.last_error, r.attempts
	FROM dunning.reminder r JOIN mine m ON m.id = r.invoice_id
	WHERE r.state = 'failed' AND m.status = 'open' AND m.bal > 0
	UNION ALL
	SELECT 3, r.id, m.number, m.matter_ref, m.client_name, m.bal, m.currency::text,
	       r.stage, r.reason, r.updated_at, r.last_error, r.attempts
	FROM dunning.reminder r JOIN mine m ON m.id = r.invoice_id
	WHERE r.state = 'in_doubt' AND m.status = 'open' AND m.bal > 0
	UNION ALL
	SELECT 4, NULL, m.number, m.matter_ref, m.client_name, m.bal, m.currency::text,
	       (SELECT r.stage FROM dunning.reminder r WHERE r.invoice_id = m.id
	        AND r.state = 'sent' ORDER BY r.sent_at DESC LIMIT 1), NULL, m.escalated_at,
	       NULL, 0
	FROM mine m, prev
	WHERE m.escalated_at IS NOT NULL AND m.status = 'open' AND m.bal > 0
	  AND (prev.at IS NULL OR m.escalated_at > prev.at)
	UNION ALL
	SELECT 5, NULL, m.number, m.matter_ref, m.client_name, m.bal, m.currency::text,
	       NULL, NULL, m.disputed_at, NULL, 0
	FROM mine m
	WHERE m.disputed_at IS NOT NULL
	  AND (m.disputed_at AT TIME ZONE coalesce((SELECT value FROM dunning.setting
	       WHERE key = 'timezone'), 'Europe/Paris'))::date
	      <= dunning.today() - p_dispute_days
	ORDER BY 1, 3, 2
$$;

REVOKE EXECUTE ON FUNCTION dunning.lawyer_alert_add(text, text, bigint, bigint[], jsonb),
	dunning.digest_items(bigint, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION dunning.lawyer_alert_add(text, text, bigint, bigint[], jsonb),
	dunning.digest_items(bigint, integer) TO dunning_daemon, dunning_admin;
