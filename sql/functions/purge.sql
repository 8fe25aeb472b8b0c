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

-- Refuse the purge's functions to whoever is not an administrator.
CREATE OR REPLACE FUNCTION dunning.purge_allowed() RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT (pg_has_role(session_user, 'dunning_admin', 'MEMBER') OR
	        (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)) THEN
		RAISE EXCEPTION 'the purge is for administrators (dunning_admin)'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;

-- The audit rows with a free text (dunning.audit_text, 021) about client
-- P_CLIENT: those of its invoices (and of their reminders and payments),
-- and those about the client as a whole (details.client_id: a pause).
CREATE OR REPLACE FUNCTION dunning.purge_text_rows(p_client bigint)
RETURNS TABLE (audit_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT DISTINCT t.audit_id
	FROM dunning.audit_text t JOIN dunning.audit_log a ON a.id = t.audit_id
	WHERE a.invoice_id IN (SELECT i.id FROM dunning.invoice i WHERE i.client_id = p_client)
	   OR a.details ->> 'client_id' = p_client::text
$$;

-- Anonymise the clients whose invoices all closed more than YEARS years
-- before today (DRY_RUN: only list them).  Identity, contact and address
-- are replaced ("Client anonymisé n° 42" keeps the name constraints
-- satisfied); amounts, numbers, dates and the country (VAT) are kept for
-- the accounts; free texts that may name a person (the dispute reason, the
-- payment link, the relay's last error) are cleared; the kept message
-- copies are deleted, and so are the audit log's free texts about the
-- client (dunning.audit_text, 021: the rows keep their hashes, so the
-- chain still verifies).  Each client gets a 'client_purged' audit row
-- with ids and counts only.  The letters in the spool are the caller's
-- (dunningctl purge: dunning.purge_letters, purge_letters_done), in the
-- same transaction.  Administrators only.
-- Its columns changed (issue 17: audit_texts): a function's result type
-- cannot be replaced.
DROP FUNCTION IF EXISTS dunning.purge(integer, boolean);
CREATE OR REPLACE FUNCTION dunning.purge(years integer, dry_run boolean)
RETURNS TABLE (client_id bigint, closed_on date, invoices integer, message_copies integer,
               audit_texts integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	cutoff date;
	cand record;
	label text;
BEGIN
	PERFORM dunning.purge_allowed();
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
			SELECT count(*) INTO audit_texts FROM dunning.audit_text t
			WHERE t.audit_id IN (SELECT r.audit_id FROM dunning.purge_text_rows(cand.client_id) r);
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
		    postal_code = NULL, city = NULL, paused_until = NULL, iban = NULL,
		    anonymised_at = dunning.now()
		WHERE c.id = cand.client_id;
		-- its transfers as the bank told them (028): the payer's name,
		-- account and words go; the amounts and references stay
		UPDATE dunning.statement_entry e
		SET debtor_name = NULL, debtor_iban = NULL, remittance = NULL, end_to_end_id = NULL
		WHERE e.invoice_id IN (SELECT i.id FROM dunning.invoice i
		                       WHERE i.client_id = cand.client_id);
		-- the words of the problems they reported from their page (027);
		-- the category, the dates and the lawyer's outcome stay
		UPDATE dunning.client_report r SET message = ''
		WHERE r.client_id = cand.client_id AND r.message <> '';
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
		DELETE FROM dunning.audit_text t
		WHERE t.audit_id IN (SELECT r.audit_id FROM dunning.purge_text_rows(cand.client_id) r);
		GET DIAGNOSTICS audit_texts = ROW_COUNT;
		PERFORM dunning.audit(session_user, 'client_purged', NULL, NULL,
			jsonb_build_object('client_id', cand.client_id, 'invoices', invoices,
				'message_copies', message_copies, 'audit_texts', audit_texts,
				'retention_years', years));
		RETURN NEXT;
	END LOOP;
END
$$;

-- The formal notices in the spool (reminder.letter_path) of the clients
-- anonymised, and of P_CLIENTS (a dry run's candidates), for dunningctl
-- purge to remove.  A letter whose file could not be removed keeps its
-- path, so every later purge tries it again; clients anonymised before
-- the letters were swept have theirs found too.  Administrators only.
CREATE OR REPLACE FUNCTION dunning.purge_letters(p_clients bigint[])
RETURNS TABLE (client_id bigint, reminder_id bigint, letter_path text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	PERFORM dunning.purge_allowed();
	RETURN QUERY
	SELECT c.id, r.id, r.letter_path
	FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id
	     JOIN dunning.client c ON c.id = i.client_id
	WHERE r.letter_path IS NOT NULL
	  AND (c.anonymised_at IS NOT NULL OR c.id = ANY (coalesce(p_clients, '{}')))
	ORDER BY c.id, r.id;
END
$$;

-- What dunningctl purge did with the letters of dunning.purge_letters:
-- P_GONE removed or already missing (their paths are forgotten),
-- P_KEPT could not be removed (their paths stay, for the next purge).
-- One 'letters_removed' audit row per client, ids and counts only.  Only
-- anonymised clients' letters are touched.  Returns the audit rows written.
CREATE OR REPLACE FUNCTION dunning.purge_letters_done(p_removed bigint[], p_missing bigint[],
                                                      p_kept bigint[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	PERFORM dunning.purge_allowed();
	WITH x AS (
		SELECT r.id, i.client_id,
		       r.id = ANY (coalesce(p_removed, '{}')) AS removed,
		       r.id = ANY (coalesce(p_missing, '{}')) AS missing,
		       r.id = ANY (coalesce(p_kept, '{}')) AS kept
		FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id
		     JOIN dunning.client c ON c.id = i.client_id
		WHERE c.anonymised_at IS NOT NULL AND r.letter_path IS NOT NULL
		  AND r.id = ANY (coalesce(p_removed, '{}') || coalesce(p_missing, '{}')
		                  || coalesce(p_kept, '{}'))
	), u AS (
		UPDATE dunning.reminder r SET letter_path = NULL, updated_at = dunning.now()
		FROM x WHERE r.id = x.id AND (x.removed OR x.missing)
		RETURNING r.id
	)
	SELECT count(dunning.audit(session_user, 'letters_removed', NULL, NULL,
	           jsonb_build_object('client_id', g.client_id, 'removed', g.removed,
	               'missing', g.missing, 'not_removed', g.kept,
	               'reminder_ids', g.ids)))
	INTO n
	FROM (SELECT x.client_id, count(*) FILTER (WHERE x.removed) AS removed,
	             count(*) FILTER (WHERE x.missing) AS missing,
	             count(*) FILTER (WHERE x.kept) AS kept,
	             jsonb_agg(x.id ORDER BY x.id) AS ids
	      FROM x
	      GROUP BY x.client_id ORDER BY x.client_id) g;
	RETURN n;
END
$$;

REVOKE EXECUTE ON FUNCTION dunning.purge(integer, boolean),
	dunning.purge_letters(bigint[]),
	dunning.purge_letters_done(bigint[], bigint[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.purge(integer, boolean),
	dunning.purge_letters(bigint[]),
	dunning.purge_letters_done(bigint[], bigint[], bigint[]) TO dunning_admin;
