-- The trigger function of the fee agreements' chase (SPEC §2 rule 13, 025):
-- a signature stops the chase at once.  Run by the signature's own
-- transaction, whoever writes it (dunning.agreement_signed, or the firm's
-- software updating fee_agreement.signed_on): every reminder of the
-- agreement not yet being sent is cancelled, each with its audit row.  A
-- reminder being sent holds the agreement's row FOR SHARE until its
-- outcome (dunning.agreement_chase_hold), so this UPDATE waits for it and
-- then finds it sent, or withheld by its last check.
--
-- Repeatable, base/ (sql/README.md): 025's trigger names it.  SECURITY
-- DEFINER: the daemon alone writes dunning.agreement_reminder.  No GRANT in
-- base/ (a trigger function is not called directly anyway).
CREATE OR REPLACE FUNCTION dunning.agreement_chase_stop() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		UPDATE dunning.agreement_reminder SET state = 'cancelled', reason = 'agreement_signed',
		       lease_until = NULL
		WHERE agreement_id = NEW.id AND state = 'planned'
		RETURNING id, stage, scheduled_for
	LOOP
		PERFORM dunning.audit(session_user, 'agreement_reminder_cancelled', NULL, NULL,
			jsonb_build_object('agreement_id', NEW.id, 'client_id', NEW.client_id,
				'agreement_reminder_id', r.id, 'stage', r.stage,
				'scheduled_for', r.scheduled_for, 'reason', 'agreement_signed',
				'signed_on', NEW.signed_on));
	END LOOP;
	RETURN NULL;
END
$$;
