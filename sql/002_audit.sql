-- 002: the audit log (SPEC §2 rule 10): append-only, hash-chained.
--
-- Each row's hash = SHA-256(previous row's hash || canonical content), the
-- canonical content being these fields joined by a newline:
--   id, at in UTC as YYYY-MM-DDTHH:MI:SS.USZ, actor, action,
--   invoice_id or '', reminder_id or '', details as jsonb text.
-- `dunningctl audit verify` recomputes the chain outside the database.

CREATE SEQUENCE dunning.audit_log_id_seq;

CREATE TABLE dunning.audit_log (
	id          bigint PRIMARY KEY,
	at          timestamptz NOT NULL,
	actor       text NOT NULL CHECK (actor <> ''),
	action      text NOT NULL CHECK (action ~ '^[a-z_]+$'),
	invoice_id  bigint,
	reminder_id bigint,
	details     jsonb NOT NULL DEFAULT '{}',
	prev_hash   bytea,
	hash        bytea NOT NULL
);
CREATE INDEX audit_log_invoice_idx ON dunning.audit_log (invoice_id);
CREATE INDEX audit_log_reminder_idx ON dunning.audit_log (reminder_id);

-- The head of the chain: one row, locked by each insert, so the chain is a
-- line even with concurrent writers (a REPEATABLE READ writer that raced
-- gets a serialization error instead of forking the chain).
CREATE TABLE dunning.audit_head (
	one       boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_hash bytea
);
INSERT INTO dunning.audit_head VALUES (true, NULL);

-- The canonical text of an audit row, as hashed.
CREATE FUNCTION dunning.audit_canonical(a dunning.audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT concat_ws(E'\n',
		a.id::text,
		to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		a.actor,
		a.action,
		coalesce(a.invoice_id::text, ''),
		coalesce(a.reminder_id::text, ''),
		a.details::text)
$$;

-- Number, time-stamp and chain a new row.  The caller's id, at, prev_hash
-- and hash are ignored: only the chain decides them.
CREATE FUNCTION dunning.audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	last bytea;
BEGIN
	SELECT last_hash INTO last FROM dunning.audit_head FOR UPDATE;
	NEW.id := nextval('dunning.audit_log_id_seq');
	NEW.at := dunning.now();
	NEW.actor := coalesce(NEW.actor, session_user::text);
	NEW.details := coalesce(NEW.details, '{}'::jsonb);
	NEW.prev_hash := last;
	NEW.hash := sha256(coalesce(last, ''::bytea) ||
	                   convert_to(dunning.audit_canonical(NEW), 'UTF8'));
	UPDATE dunning.audit_head SET last_hash = NEW.hash;
	RETURN NEW;
END
$$;

-- Refuse any change to a written row, whoever asks.
CREATE FUNCTION dunning.audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'dunning.audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON dunning.audit_log
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_chain();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON dunning.audit_log
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON dunning.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.audit_refuse();
-- Fire even under session_replication_role = replica.
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_chain;
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_no_change;
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- Write one audit row; the functions below and the daemon use it.
CREATE FUNCTION dunning.audit(p_actor text, p_action text, p_invoice bigint,
                              p_reminder bigint, p_details jsonb) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO dunning.audit_log (actor, action, invoice_id, reminder_id, details)
	VALUES (p_actor, p_action, p_invoice, p_reminder, coalesce(p_details, '{}'))
$$;

REVOKE ALL ON dunning.audit_head FROM PUBLIC;
GRANT SELECT ON dunning.audit_log TO dunning_daemon, dunning_lawyer,
	dunning_accountant, dunning_admin;
GRANT INSERT ON dunning.audit_log TO dunning_daemon;
