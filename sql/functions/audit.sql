-- The hash of an audit row (006; the chain's triggers are in base/audit.sql).
-- Here rather than in base/ because its signature names the table's row
-- type; the triggers call it only when a row is written.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- The hash of row A chained after a row whose hash is PREV (NULL: first).
CREATE OR REPLACE FUNCTION dunning.audit_hash(prev bytea, a dunning.audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(coalesce(prev, ''::bytea) || convert_to(dunning.audit_canonical(a), 'UTF8'))
$$;
