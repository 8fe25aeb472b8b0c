-- Payment plans (SPEC §2 rule 11, §3.1; tables in 026): proposing,
-- approving, rejecting, cancelling a plan, and the daemon's pass over the
-- active ones (breach, completion, the instalment reminders to queue).
--
-- The settings SQL needs (plan.max_instalments, plan.interval_months,
-- plan.auto_accept_max) are rows of dunning.setting the daemon writes at
-- start and reload (store_publish_settings): a lawyer's psql session and
-- dunningweb have no configuration file, and one firm has one rule.  The
-- daemon's own pass takes its days as parameters.
--
-- Repeatable (sql/README.md): change it here, never in a numbered migration.

-- A plan setting as an integer, DEF when unset or not a number.
CREATE OR REPLACE FUNCTION dunning.plan_setting_int(p_key text, p_def integer)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT coalesce((SELECT value::integer FROM dunning.setting
	                 WHERE key = p_key AND value ~ '^[0-9]{1,4}$'), p_def)
$$;

-- The largest plan total accepted without the lawyer, for CURRENCY
-- (plan.auto_accept_max): NULL when the currency has none (every plan of
-- that currency waits for the lawyer, as approval.threshold does).
CREATE OR REPLACE FUNCTION dunning.plan_auto_accept_max(p_currency text) RETURNS numeric
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT (value::jsonb ->> p_currency)::numeric FROM dunning.setting
	WHERE key = 'plan.auto_accept_max'
$$;

-- What was paid on plan P_PLAN's invoices since it was proposed (its
-- amounts share the balances of that instant), capped at its total.  Runs
-- as its caller: row-level security applies.
CREATE OR REPLACE FUNCTION dunning.plan_paid(p_plan bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT least(p.total, coalesce((
		SELECT sum(pm.amount) FROM dunning.plan_invoice pi
		JOIN dunning.payment pm ON pm.invoice_id = pi.invoice_id
		WHERE pi.plan_id = p.id AND pm.received_at >= p.created_at), 0))
	FROM dunning.payment_plan p WHERE p.id = p_plan
$$;

-- Plan P_PLAN's instalments with what each still asks at PAID: cum is the
-- amount due by its date (its own and those before), owed what of it is
-- not paid (0 when covered), left what of THIS instalment is not paid.
CREATE OR REPLACE FUNCTION dunning.plan_schedule(p_plan bigint, p_paid numeric)
RETURNS TABLE (seq integer, due_on date, amount numeric, cum numeric, owed numeric,
               left_to_pay numeric)
LANGUAGE sql STABLE AS $$
	SELECT s.seq, s.due_on, s.amount, s.cum, greatest(s.cum - p_paid, 0),
	       least(s.amount, greatest(s.cum - p_paid, 0))
	FROM (SELECT t.seq, t.due_on, t.amount,
	             sum(t.amount) OVER (ORDER BY t.seq) AS cum
	      FROM dunning.plan_instalment t WHERE t.plan_id = p_plan) s
	ORDER BY s.seq
$$;

-- Make a plan for client P_CLIENT's invoices P_INVOICE_IDS: P_INSTALMENTS
-- (2 to plan.max_instalments) equal instalments of the invoices' remaining
-- balance, in cents, the last absorbing the rounding, the first on
-- P_FIRST_DUE (today to today + 30 days), the others plan.interval_months
-- apart.  The invoices: all the client's, one currency, open, with a
-- balance, not disputed, in no other proposed or active plan (the unique
-- index plan_invoice_one_open is the last word when two proposals race).
-- Accepted at once ('active') when its total is below plan.auto_accept_max
-- for its currency and the client broke no plan in the last 365 days;
-- else 'proposed', the lawyer told at once (alert 'plan_proposed').
-- P_BY: 'lawyer' (dunning.propose_plan) or 'client' (dunningweb).  The
-- caller has checked that the client is the session's to act for: this
-- function is granted to no one and called by the definer functions only.
-- Audited ('plan_proposed', then 'plan_accepted' when accepted), the
-- daemon woken for each invoice.  Returns the plan's id.
CREATE OR REPLACE FUNCTION dunning.plan_propose_for(p_client bigint, p_invoice_ids bigint[],
                                                    p_instalments integer, p_first_due date,
                                                    p_note text, p_by text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	max_n integer := dunning.plan_setting_int('plan.max_instalments', 3);
	months integer := greatest(dunning.plan_setting_int('plan.interval_months', 1), 1);
	today date := dunning.today();
	ids bigint[];
	cur text;
	n_cur integer;
	tot numeric;
	bad record;
	each_cents bigint;
	limit_amount numeric;
	broke boolean;
	auto boolean;
	plan_id bigint;
	first_inv bigint;
	numbers jsonb;
BEGIN
	IF p_by IS NULL OR p_by NOT IN ('client', 'lawyer') THEN
		RAISE EXCEPTION 'a plan is proposed by the client or the lawyer, not "%"', p_by
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_instalments IS NULL OR p_instalments < 2 OR p_instalments > max_n THEN
		RAISE EXCEPTION 'a plan has 2 to % instalments, not %', max_n,
			coalesce(p_instalments::text, 'none') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_first_due IS NULL OR p_first_due < today OR p_first_due > today + 30 THEN
		RAISE EXCEPTION 'the first instalment''s date must be between % and % (30 days), not %',
			today, today + 30, coalesce(p_first_due::text, 'none')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT array_agg(DISTINCT x ORDER BY x) INTO ids FROM unnest(p_invoice_ids) x
	WHERE x IS NOT NULL;
	IF ids IS NULL THEN
		RAISE EXCEPTION 'a plan needs at least one invoice' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- The invoices locked in id order (send locks first, as the lawyers'
	-- functions do), then read under the lock.
	PERFORM dunning.lock_invoice(x) FROM unnest(ids) x ORDER BY x;
	PERFORM 1 FROM dunning.invoice WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
	IF (SELECT count(*) FROM dunning.invoice WHERE id = ANY (ids) AND client_id = p_client)
	   <> cardinality(ids) THEN
		RAISE EXCEPTION 'the invoices of a plan must all be the client''s'
			USING ERRCODE = 'no_data_found';
	END IF;
	SELECT i.number, CASE WHEN i.status <> 'open' THEN 'is ' || i.status
	                      WHEN i.amount - i.paid_total <= 0 THEN 'is paid'
	                      WHEN i.disputed_at IS NOT NULL THEN 'is disputed'
	                      ELSE 'is already in plan ' || pi.plan_id END AS why
	INTO bad
	FROM dunning.invoice i
	LEFT JOIN dunning.plan_invoice pi ON pi.invoice_id = i.id AND pi.open
	WHERE i.id = ANY (ids)
	  AND (i.status <> 'open' OR i.amount - i.paid_total <= 0 OR i.disputed_at IS NOT NULL
	       OR pi.plan_id IS NOT NULL)
	ORDER BY i.number LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice "%" %: no plan for it', bad.number, bad.why
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT count(DISTINCT i.currency), min(i.currency), sum(i.amount - i.paid_total),
	       (array_agg(i.id ORDER BY i.due_on, i.number))[1],
	       jsonb_agg(i.number ORDER BY i.due_on, i.number)
	INTO n_cur, cur, tot, first_inv, numbers
	FROM dunning.invoice i WHERE i.id = ANY (ids);
	IF n_cur <> 1 THEN
		RAISE EXCEPTION 'the invoices of a plan must share one currency'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tot * 100 < p_instalments THEN
		RAISE EXCEPTION 'a balance of % % cannot be paid in % instalments', tot, cur, p_instalments
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	limit_amount := dunning.plan_auto_accept_max(cur);
	broke := EXISTS (SELECT 1 FROM dunning.payment_plan p
	                 WHERE p.client_id = p_client AND p.state = 'broken'
	                   AND p.breached_at > dunning.now() - interval '365 days');
	auto := limit_amount IS NOT NULL AND tot < limit_amount AND NOT broke;

	INSERT INTO dunning.payment_plan (client_id, currency, state, proposed_by, total)
	VALUES (p_client, cur, 'proposed', p_by, tot) RETURNING id INTO plan_id;
	INSERT INTO dunning.plan_invoice (plan_id, invoice_id)
	SELECT plan_id, x FROM unnest(ids) x;
	-- Equal instalments in cents; the last takes what the division leaves.
	each_cents := floor(tot * 100 / p_instalments);
	INSERT INTO dunning.plan_instalment (plan_id, seq, due_on, amount)
	SELECT plan_id, k, (p_first_due + make_interval(months => (k - 1) * months))::date,
	       CASE WHEN k < p_instalments THEN each_cents / 100.0
	            ELSE tot - (p_instalments - 1) * each_cents / 100.0 END
	FROM generate_series(1, p_instalments) k;

	PERFORM dunning.audit(session_user, 'plan_proposed', first_inv, NULL,
		jsonb_strip_nulls(jsonb_build_object('plan_id', plan_id, 'proposed_by', p_by,
			'invoices', numbers, 'currency', cur, 'total', tot,
			'instalments', p_instalments, 'first_due', p_first_due,
			'note', nullif(btrim(p_note), ''))));
	IF auto THEN
		UPDATE dunning.payment_plan
		SET state = 'active', decided_by = 'auto', decided_at = dunning.now(),
		    accepted_at = dunning.now()
		WHERE id = plan_id;
		PERFORM dunning.audit(session_user, 'plan_accepted', first_inv, NULL,
			jsonb_build_object('plan_id', plan_id, 'by', 'auto', 'total', tot,
				'currency', cur, 'auto_accept_max', limit_amount));
	ELSE
		PERFORM dunning.lawyer_alert_add('plan_proposed', format('plan_proposed:%s', plan_id),
			first_inv, NULL,
			jsonb_build_object('plan_id', plan_id, 'proposed_by', p_by, 'total', tot::text,
				'instalments', p_instalments, 'first_due', p_first_due,
				'held_why', CASE WHEN broke THEN 'broken_plan'
				            WHEN limit_amount IS NULL THEN 'no_threshold'
				            ELSE 'threshold' END));
	END IF;
	PERFORM dunning.wake('plan', x, p_client) FROM unnest(ids) x;
	RETURN plan_id;
END
$$;

-- The lawyer proposes a plan for invoices INVOICE_NUMBERS (all of one of
-- their clients): dunning.plan_propose_for, proposed_by 'lawyer'.  An
-- invoice of another lawyer's client is reported as unknown.
CREATE OR REPLACE FUNCTION dunning.propose_plan(invoice_numbers text[], instalments integer,
                                                first_due date, note text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	ids bigint[];
	clients bigint[];
	missing text;
BEGIN
	IF coalesce(cardinality(invoice_numbers), 0) = 0 THEN
		RAISE EXCEPTION 'a plan needs at least one invoice' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT x INTO missing FROM unnest(invoice_numbers) x
	WHERE NOT EXISTS (SELECT 1 FROM dunning.invoice i
	                  WHERE i.number = x AND dunning.my_client(i.client_id))
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'no invoice numbered "%"', missing USING ERRCODE = 'no_data_found';
	END IF;
	SELECT array_agg(i.id), array_agg(DISTINCT i.client_id) INTO ids, clients
	FROM dunning.invoice i WHERE i.number = ANY (invoice_numbers);
	IF cardinality(clients) <> 1 THEN
		RAISE EXCEPTION 'the invoices of a plan must all be one client''s'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN dunning.plan_propose_for(clients[1], ids, instalments, first_due, note, 'lawyer');
END
$$;

-- Plan P_PLAN locked, in one of P_STATES, or say why not.  A plan of
-- another lawyer's client is unknown, whatever its state.
CREATE OR REPLACE FUNCTION dunning.plan_for_update(p_plan bigint, p_states text[])
RETURNS dunning.payment_plan
LANGUAGE plpgsql AS $$
DECLARE
	p dunning.payment_plan;
BEGIN
	SELECT * INTO p FROM dunning.payment_plan WHERE id = p_plan;
	IF NOT FOUND OR NOT dunning.my_client(p.client_id) THEN
		RAISE EXCEPTION 'no payment plan with id %', p_plan USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM dunning.lock_invoice(pi.invoice_id) FROM dunning.plan_invoice pi
	WHERE pi.plan_id = p.id ORDER BY pi.invoice_id;
	SELECT * INTO p FROM dunning.payment_plan WHERE id = p.id FOR UPDATE;
	IF NOT p.state = ANY (p_states) THEN
		RAISE EXCEPTION 'payment plan % is %, not %', p.id, p.state,
			array_to_string(p_states, ' or ') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN p;
END
$$;

-- The plan's first invoice (its audit rows' and alerts' invoice).
CREATE OR REPLACE FUNCTION dunning.plan_first_invoice(p_plan bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT i.id FROM dunning.plan_invoice pi JOIN dunning.invoice i ON i.id = pi.invoice_id
	WHERE pi.plan_id = p_plan ORDER BY i.due_on, i.number LIMIT 1
$$;

-- Wake the daemon for each invoice of plan P.
CREATE OR REPLACE FUNCTION dunning.plan_wake(p dunning.payment_plan, p_event text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dunning.wake(p_event, pi.invoice_id, p.client_id)
	FROM dunning.plan_invoice pi WHERE pi.plan_id = p.id;
END
$$;

-- The lawyer accepts a plan waiting for approval: it is active from now
-- (an acknowledgement of the debt, rule 14).  Its invoices must still be
-- open and unpaid: a plan for a closed file is refused.
CREATE OR REPLACE FUNCTION dunning.approve_plan(plan_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	p dunning.payment_plan := dunning.plan_for_update(plan_id, ARRAY['proposed']);
BEGIN
	UPDATE dunning.payment_plan
	SET state = 'active', decided_by = session_user, decided_at = dunning.now(),
	    accepted_at = dunning.now()
	WHERE id = p.id;
	PERFORM dunning.audit(session_user, 'plan_accepted', dunning.plan_first_invoice(p.id), NULL,
		jsonb_build_object('plan_id', p.id, 'by', 'lawyer', 'total', p.total,
			'currency', p.currency));
	PERFORM dunning.plan_wake(p, 'plan');
END
$$;

-- The lawyer refuses a plan waiting for approval, with a reason (kept in
-- the audit log only).  The escalation goes on as if it had not been.
CREATE OR REPLACE FUNCTION dunning.reject_plan(plan_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the rejection reason');
	p dunning.payment_plan := dunning.plan_for_update(plan_id, ARRAY['proposed']);
BEGIN
	UPDATE dunning.payment_plan
	SET state = 'rejected', decided_by = session_user, decided_at = dunning.now(),
	    ended_at = dunning.now()
	WHERE id = p.id;
	PERFORM dunning.audit(session_user, 'plan_rejected', dunning.plan_first_invoice(p.id), NULL,
		jsonb_build_object('plan_id', p.id, 'note', why));
	PERFORM dunning.plan_wake(p, 'plan');
END
$$;

-- The lawyer ends a proposed or active plan, with a reason (kept in the
-- audit log only): its reminders not yet left are cancelled; the
-- escalation resumes as after a breach (the next stage min_gap_days after
-- today, dunning.plan_resumed_at).
CREATE OR REPLACE FUNCTION dunning.cancel_plan(plan_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	why text := dunning.require_text(reason, 'the cancellation reason');
	p dunning.payment_plan := dunning.plan_for_update(plan_id, ARRAY['proposed', 'active']);
BEGIN
	UPDATE dunning.payment_plan SET state = 'cancelled', ended_at = dunning.now()
	WHERE id = p.id;
	UPDATE dunning.plan_message SET state = 'cancelled', reason = 'plan_ended',
	       lease_until = NULL
	WHERE plan_message.plan_id = p.id AND state = 'planned';
	PERFORM dunning.audit(session_user, 'plan_cancelled', dunning.plan_first_invoice(p.id), NULL,
		jsonb_build_object('plan_id', p.id, 'was', p.state, 'note', why));
	PERFORM dunning.plan_wake(p, 'plan');
END
$$;

-- The daemon's pass over the active plans at the one clock's today, set
-- based, in the caller's transaction:
--  - a plan whose payments since its proposal reach its total, or whose
--    invoices are all paid or closed, completes ('plan_completed');
--  - a plan with an instalment still owed P_BREACH_DAYS after its date is
--    broken: breached_at now, the lawyer alerted ('plan_broken'), its
--    invoices woken (the escalation resumes, rule 1 counting min_gap_days
--    from the breach);
--  - for each instalment still owed, a 'due' reminder from P_BEFORE days
--    before its date to its date, a 'late' one from P_LATE days after it
--    (until the breach), each queued once (plan_message_once), with what
--    that instalment and the plan still ask;
--  - the queued reminders of plans no longer active, or of instalments
--    since paid, are cancelled.
-- Returns the number of plans whose state changed.
CREATE OR REPLACE FUNCTION dunning.plans_pass(p_before integer, p_late integer,
                                              p_breach integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	today date := dunning.today();
	p record;
	changed integer := 0;
	first_inv bigint;
BEGIN
	FOR p IN
		SELECT pl.*, dunning.plan_paid(pl.id) AS paid,
		       NOT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
		                   JOIN dunning.invoice i ON i.id = pi.invoice_id
		                   WHERE pi.plan_id = pl.id AND i.status = 'open'
		                     AND i.amount - i.paid_total > 0) AS settled
		FROM dunning.payment_plan pl WHERE pl.state = 'active' ORDER BY pl.id
		FOR UPDATE OF pl
	LOOP
		first_inv := dunning.plan_first_invoice(p.id);
		IF p.paid >= p.total OR p.settled THEN
			UPDATE dunning.payment_plan SET state = 'completed', ended_at = dunning.now()
			WHERE id = p.id;
			PERFORM dunning.audit(session_user, 'plan_completed', first_inv, NULL,
				jsonb_build_object('plan_id', p.id, 'paid', p.paid, 'total', p.total));
			PERFORM dunning.wake('plan', pi.invoice_id, p.client_id)
			FROM dunning.plan_invoice pi WHERE pi.plan_id = p.id;
			changed := changed + 1;
		ELSIF EXISTS (SELECT 1 FROM dunning.plan_schedule(p.id, p.paid) s
		              WHERE s.owed > 0 AND s.due_on + p_breach <= today) THEN
			UPDATE dunning.payment_plan
			SET state = 'broken', ended_at = dunning.now(), breached_at = dunning.now()
			WHERE id = p.id;
			PERFORM dunning.audit(session_user, 'plan_broken', first_inv, NULL,
				jsonb_build_object('plan_id', p.id, 'paid', p.paid, 'total', p.total,
					'seq', (SELECT min(s.seq) FROM dunning.plan_schedule(p.id, p.paid) s
					        WHERE s.owed > 0)));
			PERFORM dunning.lawyer_alert_add('plan_broken', format('plan_broken:%s', p.id),
				first_inv, NULL,
				jsonb_build_object('plan_id', p.id, 'paid', p.paid::text,
					'total', p.total::text, 'breach_days', p_breach,
					'late', (SELECT max(s.owed) FROM dunning.plan_schedule(p.id, p.paid) s
					         WHERE s.due_on < today)::text));
			PERFORM dunning.wake('plan', pi.invoice_id, p.client_id)
			FROM dunning.plan_invoice pi WHERE pi.plan_id = p.id;
			changed := changed + 1;
		ELSE
			INSERT INTO dunning.plan_message (plan_id, seq, kind)
			SELECT p.id, s.seq, k.kind
			FROM dunning.plan_schedule(p.id, p.paid) s
			CROSS JOIN (VALUES ('due'), ('late')) k(kind)
			WHERE s.left_to_pay > 0
			  AND CASE k.kind
			      WHEN 'due' THEN today BETWEEN s.due_on - p_before AND s.due_on
			      ELSE today >= s.due_on + p_late END
			ON CONFLICT ON CONSTRAINT plan_message_once DO NOTHING;
		END IF;
	END LOOP;
	-- What is queued and no longer asked, or may not leave (an invoice of
	-- the plan disputed: rule 4), cancelled before it leaves.
	UPDATE dunning.plan_message m SET state = 'cancelled', lease_until = NULL,
	       reason = CASE WHEN pl.state <> 'active' THEN 'plan_ended'
	                     WHEN dunning.plan_disputed(pl.id) THEN 'disputed' ELSE 'paid' END
	FROM dunning.payment_plan pl
	WHERE pl.id = m.plan_id AND m.state = 'planned'
	  AND (pl.state <> 'active' OR dunning.plan_disputed(pl.id)
	       OR NOT EXISTS (SELECT 1 FROM dunning.plan_schedule(pl.id, dunning.plan_paid(pl.id)) s
	                      WHERE s.seq = m.seq AND s.left_to_pay > 0));
	RETURN changed;
END
$$;

-- Is an invoice of plan P_PLAN disputed?  Then no reminder of the plan
-- leaves (rule 4), whatever the plan's state.
CREATE OR REPLACE FUNCTION dunning.plan_disputed(p_plan bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	               JOIN dunning.invoice i ON i.id = pi.invoice_id
	               WHERE pi.plan_id = p_plan AND i.disputed_at IS NOT NULL)
$$;

-- When the escalation of invoice P_INVOICE resumes after a plan: the
-- latest breach or cancellation of an accepted plan of it, or NULL.  The
-- daemon's facts read it (rule 1: the next stage min_gap_days after it).
CREATE OR REPLACE FUNCTION dunning.plan_resumed_at(p_invoice bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT max(p.ended_at) FROM dunning.plan_invoice pi
	JOIN dunning.payment_plan p ON p.id = pi.plan_id
	WHERE pi.invoice_id = p_invoice AND p.accepted_at IS NOT NULL
	  AND p.state IN ('broken', 'cancelled')
$$;

-- Is invoice P_INVOICE in an active plan (its escalation suspended)?
CREATE OR REPLACE FUNCTION dunning.plan_active(p_invoice bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM dunning.plan_invoice pi
	               JOIN dunning.payment_plan p ON p.id = pi.plan_id
	               WHERE pi.invoice_id = p_invoice AND pi.open AND p.state = 'active')
$$;

-- The plans of lawyer P_LAWYER waiting for approval, in the columns of
-- dunning.digest_items (section 9): one row per plan, its first invoice's
-- number, the client, the plan's total, since when it waits; attempts
-- holds the number of instalments.
CREATE OR REPLACE FUNCTION dunning.plan_digest_items(p_lawyer bigint)
RETURNS TABLE (section integer, reminder_id bigint, invoice_number text, matter_ref text,
               client_name text, balance numeric, currency text, stage text, why text,
               since timestamptz, detail text, attempts integer)
LANGUAGE sql STABLE AS $$
	SELECT 9, NULL::bigint, i.number, i.matter_ref, dunning.notify_client_name(c),
	       p.total, p.currency::text, NULL::text, NULL::text, p.created_at,
	       p.id::text,
	       (SELECT count(*)::integer FROM dunning.plan_instalment t WHERE t.plan_id = p.id)
	FROM dunning.payment_plan p
	JOIN dunning.client c ON c.id = p.client_id
	JOIN dunning.invoice i ON i.id = dunning.plan_first_invoice(p.id)
	WHERE p.state = 'proposed' AND c.lawyer_id = p_lawyer
	ORDER BY p.created_at, p.id
$$;

REVOKE EXECUTE ON FUNCTION dunning.plan_setting_int(text, integer),
	dunning.plan_auto_accept_max(text),
	dunning.plan_propose_for(bigint, bigint[], integer, date, text, text),
	dunning.propose_plan(text[], integer, date, text),
	dunning.plan_for_update(bigint, text[]),
	dunning.approve_plan(bigint), dunning.reject_plan(bigint, text),
	dunning.cancel_plan(bigint, text), dunning.plans_pass(integer, integer, integer),
	dunning.plan_digest_items(bigint), dunning.plan_wake(dunning.payment_plan, text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.propose_plan(text[], integer, date, text),
	dunning.approve_plan(bigint), dunning.reject_plan(bigint, text),
	dunning.cancel_plan(bigint, text)
	TO dunning_lawyer, dunning_admin;
GRANT EXECUTE ON FUNCTION dunning.plans_pass(integer, integer, integer),
	dunning.plan_digest_items(bigint) TO dunning_daemon, dunning_admin;
GRANT EXECUTE ON FUNCTION dunning.plan_paid(bigint), dunning.plan_schedule(bigint, numeric),
	dunning.plan_resumed_at(bigint), dunning.plan_active(bigint),
	dunning.plan_first_invoice(bigint), dunning.plan_disputed(bigint)
	TO dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
