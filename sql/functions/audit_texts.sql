-- Reading the audit log's free texts (021, base/audit_texts.sql): a row's
-- details with its texts put back, for whoever may read both (row-level
-- security of dunning.audit_log and dunning.audit_text: this runs as its
-- caller).  A text the purge forgot is absent; its KEY_sha256 stays.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- DETAILS of audit row ID with each text it still has under its own key
-- (beside its KEY_sha256).
CREATE OR REPLACE FUNCTION dunning.audit_details(p_id bigint, p_details jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT p_details || coalesce((SELECT jsonb_object_agg(t.key, t.text)
	                             FROM dunning.audit_text t WHERE t.audit_id = p_id), '{}')
$$;

-- A text still held matches its row's hash (dunningctl audit verify does
-- not need it: the chain covers the hash, not the text).
CREATE OR REPLACE FUNCTION dunning.audit_text_matches(t dunning.audit_text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT encode(sha256(t.salt || convert_to(t.text, 'UTF8')), 'hex')
	       = (SELECT a.details ->> (t.key || '_sha256') FROM dunning.audit_log a
	          WHERE a.id = t.audit_id)
$$;

REVOKE EXECUTE ON FUNCTION dunning.audit_details(bigint, jsonb),
	dunning.audit_text_matches(dunning.audit_text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.audit_details(bigint, jsonb),
	dunning.audit_text_matches(dunning.audit_text)
	TO dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
