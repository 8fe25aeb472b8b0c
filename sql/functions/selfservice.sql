-- The client's self-service (SPEC §2 rule 12, §3.3 dunningweb; tables in
-- 027): what the page of a signed link shows, the report of a problem, and
-- the lawyer's handling of it.
--
-- dunningweb checks the link's signature and expiry (lib/token.c) and
-- passes the client and the invoices it names; these functions, SECURITY
-- DEFINER and the only ones dunning_web may execute, show and touch only
-- those invoices of that client that are still open and unpaid: a link
-- whose invoices were paid or cancelled shows nothing, so it no longer
-- works.  The client's free text is stored in dunning.client_report only:
-- never in the audit log, never in a mail.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- The page of client P_CLIENT's invoices P_INVOICES: those still open and
-- unpaid, oldest due first, with the client's language and kind, and
-- whether an open report already names the invoice, whether a proposed or
-- active payment plan does (rule 11).  No row: the link no longer works.
-- No file reference, no other invoice.
DROP FUNCTION IF EXISTS dunning.web_invoices(bigint, bigint[]);
CREATE OR REPLACE FUNCTION dunning.web_invoices(p_client bigint, p_invoices bigint[])
RETURNS TABLE (language text, kind text, number text, issued_on date, due_on date,
               balance numeric, currency text, payment_url text, reported boolean,
               planned boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT c.language::text, c.kind::text, i.number, i.issued_on, i.due_on,
	       i.amount - i.paid_total, i.currency::text, i.payment_url,
	       EXISTS (SELECT 1 FROM dunning.client_report_invoice ri
	               WHERE ri.invoice_id = i.id AND NOT ri.handled),
	       EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	               WHERE pi.invoice_id = i.id AND pi.open)
	FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
	WHERE c.id = p_client AND i.id = ANY (p_invoices)
	  AND cardinality(p_invoices) BETWEEN 1 AND 64
	  AND i.status = 'open' AND i.amount > i.paid_total
	ORDER BY i.due_on, i.number
$$;

-- The client P_CLIENT proposes, from the page of a link naming
-- P_INVOICES (a link of j10 or j30: dunningweb checks its plan right), to
-- pay in P_INSTALMENTS monthly instalments (2 to plan.max_instalments),
-- the first on P_FIRST_DUE (today to today + 30 days): the link's
-- invoices still open, unpaid, not disputed and in no proposed or active
-- plan go to dunning.plan_propose_for (proposed_by 'client': accepted at
-- once under plan.auto_accept_max, else held for the lawyer, alerted),
-- each audit row signed client:<id>, the client's acknowledgement queued.
-- Returns the plan's id; 0 when a plan already names every such invoice
-- (a replayed POST: nothing changes); NULL when none is open and unpaid
-- (the link no longer works).  A bad count or date: an error, nothing
-- changed.
CREATE OR REPLACE FUNCTION dunning.web_plan(p_client bigint, p_invoices bigint[],
                                            p_instalments integer, p_first_due date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	max_n integer := dunning.plan_setting_int('plan.max_instalments', 3);
	today date := dunning.today();
	ids bigint[];
	fresh bigint[];
	pid bigint;
BEGIN
	IF p_instalments IS NULL OR p_instalments < 2 OR p_instalments > max_n THEN
		RAISE EXCEPTION 'a plan has 2 to % instalments, not %', max_n,
			coalesce(p_instalments::text, 'none') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_first_due IS NULL OR p_first_due < today OR p_first_due > today + 30 THEN
		RAISE EXCEPTION 'the first instalment''s date must be between % and %, not %',
			today, today + 30, coalesce(p_first_due::text, 'none')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF cardinality(p_invoices) NOT BETWEEN 1 AND 64 THEN
		RETURN NULL;
	END IF;
	PERFORM set_config('dunning.web_client', p_client::text, true);
	SELECT array_agg(i.id ORDER BY i.id) INTO ids
	FROM dunning.invoice i
	WHERE i.client_id = p_client AND i.id = ANY (p_invoices);
	IF ids IS NULL THEN
		RETURN NULL;
	END IF;
	-- The send locks first, in id order (a lawyer's function's order): two
	-- replays of one POST wait for each other, the second finds the plan.
	PERFORM dunning.lock_invoice(x) FROM unnest(ids) x ORDER BY x;
	SELECT array_agg(i.id ORDER BY i.id) INTO ids
	FROM (SELECT * FROM dunning.invoice WHERE id = ANY (ids) ORDER BY id FOR UPDATE) i
	WHERE i.status = 'open' AND i.amount > i.paid_total;
	IF ids IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT array_agg(i.id ORDER BY i.id) INTO fresh
	FROM dunning.invoice i
	WHERE i.id = ANY (ids) AND i.disputed_at IS NULL
	  AND NOT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	                  WHERE pi.invoice_id = i.id AND pi.open);
	IF fresh IS NULL THEN
		RETURN CASE WHEN EXISTS (SELECT 1 FROM dunning.plan_invoice pi
		                         WHERE pi.invoice_id = ANY (ids) AND pi.open)
		            THEN 0 END;
	END IF;
	pid := dunning.plan_propose_for(p_client, fresh, p_instalments, p_first_due, '', 'client');
	INSERT INTO dunning.plan_ack (plan_id) VALUES (pid);
	RETURN pid;
END
$$;

-- The proposed or active plans naming client P_CLIENT's invoices
-- P_INVOICES, with their instalments: what the confirmation shows.
CREATE OR REPLACE FUNCTION dunning.web_plan_schedule(p_client bigint, p_invoices bigint[])
RETURNS TABLE (plan_id bigint, state text, seq integer, due_on date, amount numeric,
               currency text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT p.id, p.state::text, t.seq, t.due_on, t.amount, p.currency::text
	FROM dunning.payment_plan p
	JOIN dunning.plan_instalment t ON t.plan_id = p.id
	WHERE p.client_id = p_client AND p.state IN ('proposed', 'active')
	  AND cardinality(p_invoices) BETWEEN 1 AND 64
	  AND EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	              WHERE pi.plan_id = p.id AND pi.invoice_id = ANY (p_invoices))
	ORDER BY p.id, t.seq
$$;

-- The client P_CLIENT reports a problem of category P_CATEGORY, in the
-- words P_MESSAGE (at most 2 000 characters), about the invoices
-- P_INVOICES of its link.  The invoices still open and unpaid that no
-- open report names get a new report: their pending messages cancelled at
-- once (reason 'reported', under their send locks: a message being handed
-- is waited for), the planner told, the lawyer alerted (the category, the
-- client, the invoices; never the text), the client's acknowledgement
-- queued, and one audit row per invoice signed client:<id>.  Returns the
-- new report's id; 0 when every such invoice is already reported (a
-- replayed POST: nothing changes); NULL when none is open and unpaid (the
-- link no longer works).
CREATE OR REPLACE FUNCTION dunning.web_report(p_client bigint, p_invoices bigint[],
                                              p_category text, p_message text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	ids bigint[];
	fresh bigint[];
	rid bigint;
	inv bigint;
	lawyer bigint;
	invoices jsonb;
BEGIN
	IF p_category IS NULL OR p_category NOT IN ('already_paid', 'amount_disputed',
	                                            'service_disputed', 'hardship', 'other') THEN
		RAISE EXCEPTION 'unknown category' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_message IS NULL OR char_length(p_message) > 2000 THEN
		RAISE EXCEPTION 'the message is longer than 2000 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF cardinality(p_invoices) NOT BETWEEN 1 AND 64 THEN
		RETURN NULL;
	END IF;
	PERFORM set_config('dunning.web_client', p_client::text, true);
	SELECT array_agg(i.id ORDER BY i.id) INTO ids
	FROM dunning.invoice i
	WHERE i.client_id = p_client AND i.id = ANY (p_invoices);
	IF ids IS NULL THEN
		RETURN NULL;
	END IF;
	-- The send locks first, in id order (a lawyer's function's order).
	FOREACH inv IN ARRAY ids LOOP
		PERFORM dunning.lock_invoice(inv);
	END LOOP;
	SELECT array_agg(i.id ORDER BY i.id) INTO ids
	FROM (SELECT * FROM dunning.invoice WHERE id = ANY (ids) ORDER BY id FOR UPDATE) i
	WHERE i.status = 'open' AND i.amount > i.paid_total;
	IF ids IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT array_agg(id ORDER BY id) INTO fresh FROM unnest(ids) AS u(id)
	WHERE NOT EXISTS (SELECT 1 FROM dunning.client_report_invoice ri
	                  WHERE ri.invoice_id = u.id AND NOT ri.handled);
	IF fresh IS NULL THEN
		RETURN 0;
	END IF;
	INSERT INTO dunning.client_report (client_id, category, message)
	VALUES (p_client, p_category, p_message) RETURNING id INTO rid;
	INSERT INTO dunning.client_report_invoice (report_id, invoice_id)
	SELECT rid, unnest(fresh);
	FOREACH inv IN ARRAY fresh LOOP
		PERFORM dunning.audit(NULL, 'client_report', inv, NULL,
			jsonb_build_object('report_id', rid, 'category', p_category,
			                   'client_id', p_client));
		PERFORM dunning.cancel_pending(inv, 'reported', NULL);
	END LOOP;
	INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
	SELECT unnest(fresh), '-infinity'
	ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = '-infinity';
	SELECT jsonb_agg(jsonb_build_object('number', i.number, 'matter_ref', i.matter_ref,
	                 'balance', (i.amount - i.paid_total)::text, 'currency', i.currency)
	                 ORDER BY i.due_on, i.number),
	       min(c.lawyer_id)
	INTO invoices, lawyer
	FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id
	WHERE i.id = ANY (fresh);
	INSERT INTO dunning.lawyer_alert (lawyer_id, kind, invoice_id, event_key, details)
	VALUES (lawyer, 'client_report', fresh[1], 'client_report:' || rid,
	        jsonb_build_object('report_id', rid, 'category', p_category,
	                           'client_id', p_client, 'invoices', invoices));
	INSERT INTO dunning.client_ack (report_id) VALUES (rid);
	PERFORM dunning.wake('client_report', fresh[1], p_client);
	RETURN rid;
END
$$;

-- The lawyer decides on report P_REPORT (rule 12): 'dispute' (its
-- invoices flagged disputed, the report's category as the reason),
-- 'resume' (the messages start again with the next stage), 'plan' (a
-- payment plan, proposed or active, names each of them still open: refused
-- else), 'paid' (refused while an invoice still
-- has a balance: record the payment first).  A report of another lawyer's
-- client is unknown.  Audited (the note moved to dunning.audit_text).
CREATE OR REPLACE FUNCTION dunning.handle_report(report_id bigint, outcome text, note text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	rep dunning.client_report;
	inv record;
	ids bigint[];
	missing text;
BEGIN
	SELECT * INTO rep FROM dunning.client_report r WHERE r.id = report_id FOR UPDATE;
	IF NOT FOUND OR NOT dunning.my_client(rep.client_id) THEN
		RAISE EXCEPTION 'no client report with id %', report_id USING ERRCODE = 'no_data_found';
	END IF;
	IF outcome IS NULL OR outcome NOT IN ('dispute', 'resume', 'plan', 'paid') THEN
		RAISE EXCEPTION 'unknown outcome "%": write dispute, resume, plan or paid', outcome
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rep.state <> 'open' THEN
		RAISE EXCEPTION 'client report % was already handled (%, %)', rep.id, rep.outcome,
			rep.handled_at USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT array_agg(ri.invoice_id ORDER BY ri.invoice_id) INTO ids
	FROM dunning.client_report_invoice ri WHERE ri.report_id = rep.id;
	FOR inv IN SELECT i.id FROM unnest(ids) AS u(id)
	           JOIN dunning.invoice i ON i.id = u.id ORDER BY i.id LOOP
		PERFORM dunning.lock_invoice(inv.id);
	END LOOP;
	IF outcome = 'paid' AND EXISTS (SELECT 1 FROM dunning.invoice i
	                                WHERE i.id = ANY (ids) AND i.status = 'open'
	                                  AND i.amount > i.paid_total) THEN
		RAISE EXCEPTION 'client report %: an invoice still has a balance: record the payment '
			'first', rep.id USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF outcome = 'plan' THEN
		SELECT i.number INTO missing FROM dunning.invoice i
		WHERE i.id = ANY (ids) AND i.status = 'open' AND i.amount > i.paid_total
		  AND NOT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
		                  WHERE pi.invoice_id = i.id AND pi.open)
		ORDER BY i.due_on, i.number LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'client report %: no proposed or active payment plan names invoice '
				'"%": propose one first (dunningctl plan-propose)', rep.id, missing
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	UPDATE dunning.client_report r
	SET state = 'handled', outcome = handle_report.outcome, handled_by = session_user,
	    handled_at = dunning.now()
	WHERE r.id = rep.id;
	UPDATE dunning.client_report_invoice ri SET handled = true WHERE ri.report_id = rep.id;
	FOR inv IN SELECT i.id, i.number, i.disputed_at FROM dunning.invoice i
	           WHERE i.id = ANY (ids) ORDER BY i.id LOOP
		PERFORM dunning.audit(session_user, 'report_handled', inv.id, NULL,
			jsonb_build_object('report_id', rep.id, 'outcome', outcome,
			                   'note', coalesce(note, '')));
		IF outcome = 'dispute' AND inv.disputed_at IS NULL THEN
			PERFORM dunning.flag_dispute(inv.number, 'client report ' || rep.id || ': ' ||
				rep.category);
		END IF;
	END LOOP;
	INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at)
	SELECT unnest(ids), '-infinity'
	ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = '-infinity';
	PERFORM dunning.wake('report_handled', ids[1], rep.client_id);
END
$$;

-- Rule 12's line of lawyer P_LAWYER's digest: the open, unpaid invoices
-- whose message of stage P_STAGE (the one that offers a plan, j10) was sent
-- and that, 48 business hours later (two weekdays; public holidays not
-- counted out), have had no payment, no report, no payment plan proposed
-- (by anyone, whatever became of it) and no dispute since; each
-- listed once, in the first digest after its 48 hours.  Section 10
-- (lib/group.h, DIGEST_NO_ANSWER); since: the message's sending.
CREATE OR REPLACE FUNCTION dunning.no_answer_digest_items(p_lawyer bigint, p_stage text)
RETURNS TABLE (section integer, reminder_id bigint, invoice_number text, matter_ref text,
               client_name text, balance numeric, currency text, stage text, why text,
               since timestamptz, detail text, attempts integer)
LANGUAGE sql STABLE AS $$
	WITH prev AS (
		SELECT max(d.created_at) AS at FROM dunning.lawyer_digest d
		WHERE d.lawyer_id = p_lawyer AND d.day < dunning.today()
	), sent AS (
		SELECT r.id, r.invoice_id, r.stage, r.sent_at,
		       r.sent_at + CASE extract(isodow FROM r.sent_at AT TIME ZONE dunning.firm_tz())
		                   WHEN 4 THEN interval '4 days' WHEN 5 THEN interval '4 days'
		                   WHEN 6 THEN interval '4 days' WHEN 7 THEN interval '3 days'
		                   ELSE interval '2 days' END AS deadline
		FROM dunning.reminder r
		WHERE r.stage = p_stage AND r.state = 'sent'
	)
	SELECT 10, s.id, i.number, i.matter_ref, dunning.notify_client_name(c),
	       i.amount - i.paid_total, i.currency::text, s.stage, NULL::text, s.sent_at,
	       NULL::text, 0
	FROM sent s
	JOIN dunning.invoice i ON i.id = s.invoice_id
	JOIN dunning.client c ON c.id = i.client_id
	CROSS JOIN prev
	WHERE c.lawyer_id = p_lawyer AND i.status = 'open' AND i.amount > i.paid_total
	  AND i.disputed_at IS NULL AND i.escalated_at IS NULL
	  AND s.deadline <= dunning.now() AND (prev.at IS NULL OR s.deadline > prev.at)
	  AND coalesce(i.last_paid_at, '-infinity') < s.sent_at
	  AND NOT EXISTS (SELECT 1 FROM dunning.client_report_invoice ri
	                  JOIN dunning.client_report rp ON rp.id = ri.report_id
	                  WHERE ri.invoice_id = i.id AND rp.received_at >= s.sent_at)
	  AND NOT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	                  JOIN dunning.payment_plan pp ON pp.id = pi.plan_id
	                  WHERE pi.invoice_id = i.id AND pp.created_at >= s.sent_at)
	ORDER BY s.sent_at, i.number
$$;

-- dunning_web executes these four and nothing else of ours it needs; the
-- lawyers and the admin handle reports.
REVOKE EXECUTE ON FUNCTION dunning.web_invoices(bigint, bigint[]),
	dunning.web_report(bigint, bigint[], text, text),
	dunning.web_plan(bigint, bigint[], integer, date),
	dunning.web_plan_schedule(bigint, bigint[]),
	dunning.handle_report(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.web_invoices(bigint, bigint[]),
	dunning.web_report(bigint, bigint[], text, text),
	dunning.web_plan(bigint, bigint[], integer, date),
	dunning.web_plan_schedule(bigint, bigint[]) TO dunning_web;
GRANT EXECUTE ON FUNCTION dunning.handle_report(bigint, text, text)
	TO dunning_lawyer, dunning_admin;
REVOKE EXECUTE ON FUNCTION dunning.no_answer_digest_items(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.no_answer_digest_items(bigint, text)
	TO dunning_daemon, dunning_admin;
