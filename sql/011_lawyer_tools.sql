-- 011: the lawyers' and operator's tools: registered letters, kept messages, GDPR.
--
-- - dunning.letter_sent records the registered-mail tracking number of a
--   formal notice once it is posted (dunningctl letter-sent);
-- - dunning.message_copy keeps the text of every client message as it left,
--   for the client's access request (dunningctl export-client) and until
--   the purge;
-- - dunning.purge anonymises the clients whose files closed more than the
--   retention period ago (dunningctl purge), and dunning.record_export
--   audits an export.

-- The text part of every client message as it left (letters: their text).
-- Written by the sender once per Message-ID; a retry adds nothing.
CREATE TABLE dunning.message_copy (
	message_id   text PRIMARY KEY,
	client_id    bigint NOT NULL REFERENCES dunning.client (id),
	stage        text NOT NULL,
	reminder_ids bigint[] NOT NULL,
	subject      text,
	body         text NOT NULL,
	kept_at      timestamptz NOT NULL DEFAULT dunning.now()
);
CREATE INDEX message_copy_client_idx ON dunning.message_copy (client_id);

-- Need to know, as in 009: a lawyer reads the copies of their clients'
-- messages; the accountant, the daemon and the administrator read them
-- all; the daemon writes them; the owner (the purge) deletes them.
ALTER TABLE dunning.message_copy ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.message_copy FORCE ROW LEVEL SECURITY;
CREATE POLICY message_copy_lawyer ON dunning.message_copy FOR SELECT TO dunning_lawyer
	USING (client_id IN (SELECT c.id FROM dunning.client c
	                     JOIN dunning.lawyer l ON l.id = c.lawyer_id
	                     WHERE l.db_role = current_user));
CREATE POLICY message_copy_read ON dunning.message_copy FOR SELECT
	TO dunning_accountant, dunning_daemon, dunning_admin USING (true);
CREATE POLICY message_copy_daemon_insert ON dunning.message_copy FOR INSERT
	TO dunning_daemon WITH CHECK (true);
CREATE POLICY message_copy_owner ON dunning.message_copy TO CURRENT_USER
	USING (true) WITH CHECK (true);

-- The audit rows about a client as a whole (pause, export, purge) name it
-- in details.client_id: the export looks them up, and so does the lawyers'
-- policy of 009.
CREATE INDEX audit_log_client_idx ON dunning.audit_log ((details ->> 'client_id'));

-- The day an invoice stopped being owed by its status (cancelled or
-- written off), which the status alone does not tell; NULL while it is
-- open.  The trigger sets it to the firm's today when the status leaves
-- 'open' (or keeps the date the writer gives), moves it when the status
-- changes between the closed ones only if the writer says so, and clears
-- it when the status goes back to 'open'.
--
-- Invoices closed before this migration have no such date: they get the
-- day they were written off when 005 recorded it, else the day this
-- migration runs.  Their retention therefore counts from a day no earlier
-- than the real one: the purge may come late for them, never early.
ALTER TABLE dunning.invoice ADD COLUMN status_closed_on date;
UPDATE dunning.invoice SET status_closed_on = coalesce(written_off_on, dunning.today())
WHERE status <> 'open';
ALTER TABLE dunning.invoice ADD CONSTRAINT invoice_status_closed_on_check
	CHECK ((status = 'open') = (status_closed_on IS NULL));

CREATE FUNCTION dunning.invoice_status_closed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'open' THEN
		NEW.status_closed_on := NULL;
	ELSIF TG_OP = 'INSERT' OR OLD.status = 'open' THEN
		NEW.status_closed_on := coalesce(NEW.status_closed_on, dunning.today());
	ELSE
		NEW.status_closed_on := coalesce(NEW.status_closed_on, OLD.status_closed_on);
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER invoice_status_closed BEFORE INSERT OR UPDATE OF status, status_closed_on
	ON dunning.invoice FOR EACH ROW EXECUTE FUNCTION dunning.invoice_status_closed();

-- The day the invoice's file closed, in the firm's calendar, or NULL while
-- something is still owed on it:
--   - paid: the day of the payment with which the payments first reached
--     the amount (payments are positive, so the running sum only grows);
--   - cancelled or written off: status_closed_on;
--   - both: the earlier of the two.
CREATE FUNCTION dunning.invoice_closed_on(inv dunning.invoice) RETURNS date
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

-- When a client's data was replaced by the purge (not contract).
ALTER TABLE dunning.client ADD COLUMN anonymised_at timestamptz;

-- Record the registered-mail tracking number of a formal notice that was
-- sent (written for the post): once, by the client's lawyer or an
-- administrator.  A reminder that is not the caller's is "no reminder",
-- exactly like an unknown one.
CREATE FUNCTION dunning.letter_sent(reminder_id bigint, tracking text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	num text := dunning.require_text(tracking, 'the tracking number');
	cli bigint;
	rem dunning.reminder;
	prev text;
BEGIN
	IF num !~ '^[A-Z0-9 -]{1,32}$' THEN
		RAISE EXCEPTION 'tracking number "%" is not 1 to 32 characters among A-Z, 0-9, space and hyphen',
			num USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.client_id INTO cli
	FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id
	WHERE r.id = letter_sent.reminder_id;
	IF NOT FOUND OR NOT dunning.my_client(cli) THEN
		RAISE EXCEPTION 'no reminder with id %', letter_sent.reminder_id
			USING ERRCODE = 'no_data_found';
	END IF;
	rem := dunning.reminder_in(letter_sent.reminder_id, ARRAY['sent']);
	-- A letter is recorded sent with "letter written to PATH" (the sender's
	-- contract), a mail with the relay's answer.
	IF NOT EXISTS (SELECT 1 FROM dunning.audit_log a
	               WHERE a.reminder_id = rem.id AND a.action = 'sent'
	                 AND a.details->>'detail' LIKE 'letter written to %') THEN
		RAISE EXCEPTION 'reminder % (stage %) was not sent as a letter', rem.id, rem.stage
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT a.details->>'tracking' INTO prev FROM dunning.audit_log a
	WHERE a.reminder_id = rem.id AND a.action = 'letter_posted' ORDER BY a.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the letter of reminder % is already recorded as posted (tracking %)',
			rem.id, prev USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dunning.audit(session_user, 'letter_posted', rem.invoice_id, rem.id,
		jsonb_build_object('stage', rem.stage, 'tracking', num));
END
$$;

-- An export of a client's data (GDPR access request) leaves an audit row.
CREATE FUNCTION dunning.record_export(client_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM dunning.client c WHERE c.id = record_export.client_id)
	   OR NOT dunning.my_client(record_export.client_id) THEN
		RAISE EXCEPTION 'no client with id %', record_export.client_id
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.audit(session_user, 'client_exported', NULL, NULL,
		jsonb_build_object('client_id', record_export.client_id));
END
$$;

-- The clients (all, or only P_CLIENT) whose invoices all closed before
-- CUTOFF, with the last closing day and their number of invoices.  A
-- client without invoices is never among them: nothing says when its file
-- would have closed.
CREATE FUNCTION dunning.purge_candidates(p_cutoff date, p_client bigint)
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
CREATE FUNCTION dunning.purge(years integer, dry_run boolean)
RETURNS TABLE (client_id bigint, closed_on date, invoices integer, message_copies integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
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

GRANT SELECT, INSERT ON dunning.message_copy TO dunning_daemon;
GRANT SELECT ON dunning.message_copy TO dunning_lawyer, dunning_accountant, dunning_admin;

REVOKE EXECUTE ON FUNCTION dunning.letter_sent(bigint, text), dunning.record_export(bigint),
	dunning.purge(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.letter_sent(bigint, text), dunning.record_export(bigint)
	TO dunning_lawyer, dunning_admin;
GRANT EXECUTE ON FUNCTION dunning.purge(integer, boolean) TO dunning_admin;
