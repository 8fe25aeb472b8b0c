-- The audit log's free texts (021; SPEC §2 rules 9 and 10, §3.3 purge):
-- what a person wrote or a relay answered may name a client (a dispute
-- reason, a pause reason, a relay's answer quoting an address, a transfer's
-- reference, a tracking number), and the purge must be able to forget it,
-- while the chain, which nobody may rewrite, must still verify.  So the
-- text never enters the chain: a trigger on dunning.audit_log moves it to
-- dunning.audit_text (audit_id, key, salt, text) and leaves in its place
-- KEY_sha256, the hex SHA-256 of the salt (a random UUID's 16 bytes) followed by
-- the text in UTF-8.  The purge deletes the side rows of the clients it
-- anonymises: the chain keeps a hash whose salt is gone, which confirms
-- no guess; a text still held can be checked against its row's hash.
-- Readers put the texts back with dunning.audit_details
-- (functions/audit_texts.sql).
--
-- The free texts, by key (the inventory of every writer of the log:
-- sql/functions/lawyer_actions.sql, sql/base/wake.sql, pipeline/,
-- daemon/, ctl/):
--   detail     a relay's answer or a sending error (the outcomes of
--              pipeline/outcome.c, the lawyers' mail and digests of
--              pipeline/alerts.c), any action
--   note       clear-dispute's and mark-sent's note, any action
--   tracking   letter_posted's registered-mail number, any action
--   reference  payment_recorded's bank reference (a transfer's label
--              often names the payer), any action
--   reason     only where a person wrote it: dispute_flagged,
--              dispute_cleared (the dispute's reason), client_paused,
--              client_pause_lifted, invoice_paused, invoice_pause_lifted,
--              rejected, resend_requested.  Elsewhere (planned, held,
--              cancelled, failed, in_doubt, ...) it is a code of
--              lib/reason.c and stays.
-- Ids, codes, stages, amounts, dates, Message-IDs and spool paths (named
-- after the reminder's id) stay in the row.  The trigger's WHEN clause
-- (021) is a cheaper superset of this list, so that the planner's rows
-- never call the function: a key added here is added there too, by a new
-- migration.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because 021's
-- CREATE TRIGGER names it; no signature names a table, no GRANT.

-- BEFORE INSERT on dunning.audit_log, after audit_log_stamp (triggers fire
-- in the order of their names), so NEW.id is the row's: each free text of
-- NEW.details goes to dunning.audit_text, its hash stays.  Runs as the
-- owner, the only writer of dunning.audit_text with the purge.
CREATE OR REPLACE FUNCTION dunning.audit_texts_move() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	k text;
	t text;
	salt bytea;
BEGIN
	IF NEW.id IS NULL THEN
		RAISE EXCEPTION 'audit_log_texts: the row has no id yet (audit_log_stamp must run first)';
	END IF;
	FOREACH k IN ARRAY ARRAY['detail', 'note', 'tracking', 'reference', 'reason'] LOOP
		CONTINUE WHEN NOT NEW.details ? k OR jsonb_typeof(NEW.details -> k) = 'null';
		CONTINUE WHEN k = 'reason' AND NEW.action NOT IN ('dispute_flagged',
			'dispute_cleared', 'client_paused', 'client_pause_lifted', 'invoice_paused',
			'invoice_pause_lifted', 'rejected', 'resend_requested');
		t := NEW.details ->> k;
		salt := uuid_send(gen_random_uuid());
		INSERT INTO dunning.audit_text (audit_id, key, salt, text)
		VALUES (NEW.id, k, salt, t);
		NEW.details := (NEW.details - k) || jsonb_build_object(k || '_sha256',
			encode(sha256(salt || convert_to(t, 'UTF8')), 'hex'));
	END LOOP;
	RETURN NEW;
END
$$;
