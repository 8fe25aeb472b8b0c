-- 002: the audit log (SPEC §2 rule 10): append-only, hash-chained.
--
-- Each row's hash = SHA-256(previous row's hash || canonical content), the
-- canonical content being these fields joined by a newline:
--   id, at in UTC as YYYY-MM-DDTHH:MI:SS.USZ, actor, action,
--   invoice_id or '', reminder_id or '', details as jsonb text.
-- `dunningctl audit verify` recomputes the chain outside the database.
--
-- The triggers that number, stamp and chain the rows, and the one that
-- refuses any other change, are those of 006 (the chain at COMMIT), with
-- their functions in base/audit.sql; this migration keeps the one that
-- refuses TRUNCATE.  (Databases migrated before the functions moved out
-- of the numbered migrations had chained at INSERT until 006: 006 drops
-- those triggers when it finds them.)

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

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON dunning.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.audit_refuse();
-- Fire even under session_replication_role = replica.
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

REVOKE ALL ON dunning.audit_head FROM PUBLIC;
GRANT SELECT ON dunning.audit_log TO dunning_daemon, dunning_lawyer,
	dunning_accountant, dunning_admin;
GRANT INSERT ON dunning.audit_log TO dunning_daemon;
