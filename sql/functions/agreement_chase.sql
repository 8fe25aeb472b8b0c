-- The chase of fee agreements sent and not signed (SPEC §2 rule 13, 025):
-- what the daemon's planning pass and sender (pipeline/chase.c) ask the
-- database, and the lawyer's alert at unsigned_alert_days.  The send
-- window is the daemon's (lib/calendar.c): the planner gives each
-- candidate its first possible day here, and C turns it into the next
-- window opening.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- What the planning pass writes now, at the one clock's today, for the
-- stages P_STAGES at P_OFFSETS calendar days after sent_on, in order.  An
-- agreement is chased when sent, not signed, with a signature link, and
-- until P_ALERT_DAYS after sent_on (then the lawyer's alert takes over:
-- an agreement left unsigned for months is not chased the day the feature
-- is switched on).  One stage at a time: nothing while one is planned or
-- being sent.  Of the stages after the last one written whose day has
-- come, the last is planned ('plan') and those before it are recorded
-- skipped ('skip'): a daemon that was down sends one reminder, never a
-- burst.  START_DAY is the first day it may leave: its own day, the end of
-- the client's pause, and the day after the previous reminder left (two
-- reminders of an agreement never leave on the same day; min_gap_days is
-- not applied).
CREATE OR REPLACE FUNCTION dunning.agreement_chase_candidates(p_stages text[],
    p_offsets integer[], p_alert_days integer)
RETURNS TABLE (agreement_id bigint, stage text, action text, start_day date)
LANGUAGE sql STABLE AS $$
	WITH st AS (
		SELECT s.name, s.off, s.ord::integer AS ord
		FROM unnest(p_stages, p_offsets) WITH ORDINALITY AS s(name, off, ord)
	), ag AS (
		SELECT a.id, a.sent_on, c.paused_until,
		       (SELECT max(st.ord) FROM dunning.agreement_reminder r
		        JOIN st ON st.name = r.stage WHERE r.agreement_id = a.id) AS last_ord,
		       (SELECT max(CASE WHEN r.state = 'sent' THEN r.sent_at
		                        WHEN r.state = 'in_doubt' THEN r.scheduled_for END)
		        FROM dunning.agreement_reminder r WHERE r.agreement_id = a.id) AS last_left,
		       EXISTS (SELECT 1 FROM dunning.agreement_reminder r
		               WHERE r.agreement_id = a.id AND r.state IN ('planned', 'sending')) AS busy
		FROM dunning.fee_agreement a JOIN dunning.client c ON c.id = a.client_id
		WHERE a.signed_on IS NULL AND a.sent_on IS NOT NULL
		  AND nullif(a.signature_url, '') IS NOT NULL
		  AND a.sent_on + p_alert_days >= dunning.today()
	), due AS (
		SELECT ag.id, ag.paused_until, ag.last_left, st.name, st.ord,
		       ag.sent_on + st.off AS due_day,
		       max(st.ord) OVER (PARTITION BY ag.id) AS top
		FROM ag JOIN st ON st.ord > coalesce(ag.last_ord, 0)
		WHERE NOT ag.busy AND ag.sent_on + st.off <= dunning.today()
	)
	SELECT d.id, d.name, CASE WHEN d.ord = d.top THEN 'plan' ELSE 'skip' END,
	       greatest(d.due_day, d.paused_until,
	                (d.last_left AT TIME ZONE dunning.firm_tz())::date + 1)
	FROM due d ORDER BY d.id, d.ord
$$;

-- Write the planning pass's decisions: for each agreement P_IDS[i], stage
-- P_STAGES[i] planned at P_AT[i] ('plan') or cancelled as skipped
-- ('skip'), each once (agreement_reminder_once) and audited; an agreement
-- signed since the candidates were read gets nothing.  Returns how many
-- rows were written.
CREATE OR REPLACE FUNCTION dunning.agreement_chase_plan(p_ids bigint[], p_stages text[],
    p_actions text[], p_at timestamptz[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	FOR r IN
		WITH ins AS (
			INSERT INTO dunning.agreement_reminder (agreement_id, stage, state,
			                                        scheduled_for, reason)
			SELECT x.id, x.stage,
			       CASE WHEN x.action = 'skip' THEN 'cancelled' ELSE 'planned' END, x.at,
			       CASE WHEN x.action = 'skip' THEN 'stage_skipped' END
			FROM unnest(p_ids, p_stages, p_actions, p_at) WITH ORDINALITY
			     AS x(id, stage, action, at, n)
			JOIN dunning.fee_agreement a ON a.id = x.id AND a.signed_on IS NULL
			ORDER BY x.n
			ON CONFLICT ON CONSTRAINT agreement_reminder_once DO NOTHING
			RETURNING id, agreement_id, stage, state, scheduled_for
		)
		SELECT ins.*, a.client_id FROM ins
		JOIN dunning.fee_agreement a ON a.id = ins.agreement_id ORDER BY ins.id
	LOOP
		PERFORM dunning.audit('daemon', CASE WHEN r.state = 'planned'
			THEN 'agreement_reminder_planned' ELSE 'agreement_reminder_skipped' END, NULL, NULL,
			jsonb_build_object('agreement_id', r.agreement_id, 'client_id', r.client_id,
				'agreement_reminder_id', r.id, 'stage', r.stage,
				'scheduled_for', r.scheduled_for)
			|| CASE WHEN r.state = 'cancelled'
			        THEN jsonb_build_object('reason', 'stage_skipped') ELSE '{}' END);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

-- The sender's last check, right before it hands reminder P_REMINDER
-- (marked 'sending'): its row locked, and its agreement's row held FOR
-- SHARE until the caller's transaction ends, which records the outcome.
-- A signature waits for that, or came first: 'held' (hand it), 'signed'
-- (withhold: the agreement is signed), 'busy' (a signature is being
-- written: withhold, the next claim looks again), 'gone' (not 'sending'
-- any more).  Never waits.  SECURITY DEFINER: a row lock needs UPDATE
-- on fee_agreement, which the daemon has not.
CREATE OR REPLACE FUNCTION dunning.agreement_chase_hold(p_reminder bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	rem dunning.agreement_reminder;
	agr dunning.fee_agreement;
BEGIN
	SELECT * INTO rem FROM dunning.agreement_reminder WHERE id = p_reminder
	FOR UPDATE SKIP LOCKED;
	IF NOT FOUND OR rem.state <> 'sending' THEN
		RETURN 'gone';
	END IF;
	SELECT * INTO agr FROM dunning.fee_agreement WHERE id = rem.agreement_id
	FOR SHARE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN 'busy';
	END IF;
	RETURN CASE WHEN agr.signed_on IS NULL THEN 'held' ELSE 'signed' END;
END
$$;

-- Rule 13: queue, at the one clock's today, the lawyer's alert of each
-- agreement sent P_DAYS calendar days ago or more and still unsigned, once
-- (event_key 'agreement_unsigned:<agreement>'); none for an agreement
-- signed before, none more than thirty days late (an old agreement found
-- unsigned the day the feature is switched on).  One statement, run at
-- each pass of the lawyers' mail.  Returns how many were queued.
CREATE OR REPLACE FUNCTION dunning.agreement_unsigned_alerts_queue(p_days integer)
RETURNS integer
LANGUAGE sql AS $$
	WITH ins AS (
		INSERT INTO dunning.lawyer_alert (lawyer_id, kind, agreement_id, event_key, details)
		SELECT c.lawyer_id, 'agreement_unsigned', a.id, 'agreement_unsigned:' || a.id,
		       jsonb_build_object('step', 'unsigned', 'agreement_id', a.id,
		                          'matter_ref', a.matter_ref, 'sent_on', a.sent_on,
		                          'days', p_days, 'invoices', '[]'::jsonb)
		FROM dunning.fee_agreement a JOIN dunning.client c ON c.id = a.client_id
		WHERE a.signed_on IS NULL AND a.sent_on IS NOT NULL
		  AND a.sent_on + p_days <= dunning.today()
		  AND a.sent_on + p_days + 30 >= dunning.today()
		ORDER BY a.id
		ON CONFLICT ON CONSTRAINT lawyer_alert_once DO NOTHING
		RETURNING 1
	)
	SELECT count(*)::integer FROM ins
$$;

-- Rule 13: a reminder of agreement P_AGREEMENT could not be sent (P_REASON,
-- a reason code: no e-mail, a link refused…): its lawyer is told, once per
-- agreement and reason, in the caller's transaction.
CREATE OR REPLACE FUNCTION dunning.agreement_chase_failed_alert(p_agreement bigint,
    p_stage text, p_reason text, p_detail text)
RETURNS void
LANGUAGE sql AS $$
	INSERT INTO dunning.lawyer_alert (lawyer_id, kind, agreement_id, event_key, details)
	SELECT c.lawyer_id, 'agreement_unsigned', a.id,
	       'agreement_failed:' || a.id || ':' || p_reason,
	       jsonb_build_object('step', 'failed', 'agreement_id', a.id, 'stage', p_stage,
	                          'reason', p_reason, 'why', p_detail,
	                          'matter_ref', a.matter_ref, 'sent_on', a.sent_on,
	                          'invoices', '[]'::jsonb)
	FROM dunning.fee_agreement a JOIN dunning.client c ON c.id = a.client_id
	WHERE a.id = p_agreement
	ON CONFLICT ON CONSTRAINT lawyer_alert_once DO NOTHING
$$;

REVOKE EXECUTE ON FUNCTION dunning.agreement_chase_candidates(text[], integer[], integer),
	dunning.agreement_chase_plan(bigint[], text[], text[], timestamptz[]),
	dunning.agreement_chase_hold(bigint),
	dunning.agreement_unsigned_alerts_queue(integer),
	dunning.agreement_chase_failed_alert(bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.agreement_chase_candidates(text[], integer[], integer),
	dunning.agreement_chase_plan(bigint[], text[], text[], timestamptz[]),
	dunning.agreement_chase_hold(bigint),
	dunning.agreement_unsigned_alerts_queue(integer),
	dunning.agreement_chase_failed_alert(bigint, text, text, text) TO dunning_daemon;
