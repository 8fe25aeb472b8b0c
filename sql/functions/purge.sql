-- The GDPR purge (011): when a client's file closed, which clients may be
-- anonymised, and the purge itself (dunningctl purge; administrators only).
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- The day the invoice's file closed, in the firm's calendar, or NULL while
-- something is still owed on it:
--   - paid: the day of the payment with which the payments first reached
--     the amount (payments are positive, so the running sum only grows);
--   - cancelled or written off: status_closed_on;
--   - both: the earlier of the two.
CREATE OR REPLACE FUNCTION dunning.invoice_closed_on(inv dunning.invoice) RETURNS date
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN inv.status = 'open' AND inv.amount > coalesce(p.total, 0) THEN NULL
		ELSE least(CASE WHEN inv.amount <= coalesce(p.total, 0) THEN p.paid_on END,
		           inv.status_closed_on)
	END
	FROM (SELECT sum(amount) AS total,
	             (SELECT (x.received_at AT TIME ZONE dunning.firm_tz())::date
	              FROM (SELECT received_at, id,
	                           sum(amount) OVER (ORDER BY received_at, id) AS running
	                    FROM dunning.payment WHERE invoice_id = inv.id) x
	              WHERE x.running >= inv.amount ORDER BY x.received_at, x.id LIMIT 1) AS paid_on
	      FROM dunning.payment WHERE invoice_id = inv.id) p
$$;

-- The clients (all, or only P_CLIENT) whose invoices all closed before
-- CUTOFF, with the last closing day and their number of invoices.  A
-- client without invoices is never among them: nothing says when its file
-- would have closed.
CREATE OR REPLACE FUNCTION dunning.purge_candidates(p_cutoff date, p_client bigint)
RETURNS TABLE (client_id bigint, closed_on date, invoices integer)
LANGUAGE sql STABLE AS $$
	SELECT x.client_id, max(x.closed_on), count(*)::integer
	FROM (SELECT i.client_id, dunning.invoice_closed_on(i) AS closed_on
	      FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
	      WHERE c.anonymised_at IS NULL
	        AND (p_client IS NULL OR i.client_id = p_client)) x
	GROUP BY x.client_id
	HAVING bool_and(x.closed_on IS NOT NULL) AND max(x.closed_on) < p_cutoff
	ORDER BY x.client_id
$$;

-- Anonymise the clients whose invoices all closed more than YEARS years
-- before today (DRY_RUN: only list them).  Identity, contact and address
-- are replaced ("Client anonymisé n° 42" keeps the name constraints
-- satisfied); amounts, numbers, dates and the country (VAT) are kept for
-- the accounts; free texts that may name a person (the dispute reason, the
-- payment link, the relay's last error) are cleared; the kept message
-- copies are deleted.  Each client gets a 'client_purged' audit row with
-- ids and counts only.  Administrators only.
CREATE OR REPLACE FUNCTION dunning.purge(years integer, dry_run boolean)
RETURNS TABLE (client_id bigint, closed_on date, invoices integer, message_copies integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	cutoff date;
	cand record;
	label text;
BEGIN
	IF NOT (pg_has_role(session_user, 'dunning_admin', 'MEMBER') OR
	        (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)) THEN
		RAISE EXCEPTION 'the purge is for administrators (dunning_admin)'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF years IS NULL OR years < 1 THEN
		RAISE EXCEPTION 'the retention period must be at least one year (got %)', years
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	cutoff := (dunning.today() - make_interval(years => years))::date;
	FOR cand IN SELECT * FROM dunning.purge_candidates(cutoff, NULL) LOOP
		client_id := cand.client_id;
		closed_on := cand.closed_on;
		invoices := cand.invoices;
		IF dry_run THEN
			SELECT count(*) INTO message_copies FROM dunning.message_copy m
			WHERE m.client_id = cand.client_id;
			RETURN NEXT;
			CONTINUE;
		END IF;
		-- Lock the client (a new invoice for it waits), then ask again:
		-- an invoice or a payment may have come meanwhile.
		PERFORM 1 FROM dunning.client c WHERE c.id = cand.client_id FOR UPDATE;
		SELECT p.closed_on, p.invoices INTO closed_on, invoices
		FROM dunning.purge_candidates(cutoff, cand.client_id) p;
		CONTINUE WHEN NOT FOUND;
		label := format('Client anonymisé n° %s', cand.client_id);
		UPDATE dunning.client c
		SET first_name = NULL,
		    last_name = CASE WHEN c.kind = 'individual' THEN label END,
		    company_name = CASE WHEN c.kind = 'professional' THEN label END,
		    email = NULL, phone = NULL, address_line1 = NULL, address_line2 = NULL,
		    postal_code = NULL, city = NULL, paused_until = NULL,
		    anonymised_at = dunning.now()
		WHERE c.id = cand.client_id;
		UPDATE dunning.invoice i
		SET dispute_reason = CASE WHEN i.dispute_reason IS NOT NULL THEN 'anonymisé' END,
		    payment_url = NULL
		WHERE i.client_id = cand.client_id
		  AND (i.dispute_reason IS NOT NULL OR i.payment_url IS NOT NULL);
		UPDATE dunning.reminder r SET last_error = NULL
		WHERE r.last_error IS NOT NULL
		  AND r.invoice_id IN (SELECT i.id FROM dunning.invoice i
		                       WHERE i.client_id = cand.client_id);
		DELETE FROM dunning.message_copy m WHERE m.client_id = cand.client_id;
		GET DIAGNOSTICS message_copies = ROW_COUNT;
		PERFORM dunning.audit(session_user, 'client_purged', NULL, NULL,
			jsonb_build_object('client_id', cand.client_id, 'invoices', invoices,
				'message_copies', message_copies, 'retention_years', years));
		RETURN NEXT;
	END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION dunning.purge(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.purge(integer, boolean) TO dunning_admin;
