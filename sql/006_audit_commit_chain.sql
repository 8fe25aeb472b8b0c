-- 006: chain the audit log at COMMIT, not at INSERT.
--
-- Until 005 the BEFORE INSERT trigger locked the chain's head row and kept
-- that lock until the inserting transaction ended: a lawyer's open psql
-- transaction, or a billing transaction still inserting payments, stalled
-- every other writer of the audit log, and a writer that then waited for an
-- invoice's lock while another writer waited for the head deadlocked.
--
-- Now an INSERT only numbers and time-stamps the row (id, at, actor and
-- details defaults) and leaves chain_seq, prev_hash and hash NULL.  A
-- deferred constraint trigger chains the transaction's rows at COMMIT, in
-- id order (deferred events fire in the order they were queued, and a
-- session's ids increase): it locks the head, gives the row the next
-- position (chain_seq = head.last_seq + 1), prev_hash = head.last_hash and
-- hash = SHA-256(prev_hash || canonical text), and advances the head.  The
-- head is therefore locked only for the duration of a COMMIT.  Rows not yet
-- committed are invisible to other sessions, so every row a reader sees
-- carries its hash.  The chain's order is the order of the commits, not the
-- order of `at` or of id: `dunningctl audit verify` reads it by chain_seq.
--
-- The canonical text of a row, as hashed, is these fields joined by a
-- newline (E'\n'), for every row with chain_seq greater than the last id
-- written before this migration (rows chained from now on):
--   chain_seq, id, at in UTC as YYYY-MM-DDTHH:MI:SS.USZ, actor, action,
--   invoice_id or '', reminder_id or '', details as jsonb text.
-- Rows written before this migration keep the form of 002, without
-- chain_seq (their hashes are evidence and are not recomputed); their
-- chain_seq is their id, as their chain was in id order, and the boundary is
-- written into dunning.audit_canonical() when this migration runs.
-- Only `actor` may contain a newline (action is [a-z_]+, the ids are digits,
-- jsonb text escapes newlines), so the text still decodes one way.
--
-- The append-only guard still refuses UPDATE, DELETE and TRUNCATE to every
-- role, the superuser included, also under session_replication_role =
-- replica.  Its one exception is the chainer's fill-in, checked so strictly
-- that it cannot be used to change anything: see dunning.audit_guard().
--
-- A REPEATABLE READ or SERIALIZABLE transaction that writes an audit row
-- gets a serialization failure at COMMIT when another audit row was
-- committed after its snapshot (the head changed under it): it retries,
-- rather than forking the chain.  The programs use READ COMMITTED.
--
-- The triggers' functions (audit_stamp, audit_chain_at_commit,
-- audit_guard, which says why its one exception cannot be abused) are
-- in base/audit.sql, dunning.audit_hash in functions/audit.sql.

LOCK TABLE dunning.audit_log, dunning.audit_head IN ACCESS EXCLUSIVE MODE;

-- The old triggers go first: the backfill below updates every row (a
-- database created after they left 002 never had them).
DROP TRIGGER IF EXISTS audit_log_chain ON dunning.audit_log;
DROP TRIGGER IF EXISTS audit_log_no_change ON dunning.audit_log;
DROP FUNCTION IF EXISTS dunning.audit_chain();

ALTER TABLE dunning.audit_log
	ADD COLUMN chain_seq bigint,
	ALTER COLUMN hash DROP NOT NULL;
UPDATE dunning.audit_log SET chain_seq = id;
ALTER TABLE dunning.audit_log
	ADD CONSTRAINT audit_log_chain_seq_key UNIQUE (chain_seq),
	ADD CONSTRAINT audit_log_chain_seq_check CHECK (chain_seq > 0),
	-- Chained (committed) or not yet (inside its transaction): never half.
	ADD CONSTRAINT audit_log_chained_check CHECK (
		(chain_seq IS NULL) = (hash IS NULL) AND
		(chain_seq IS NOT NULL OR prev_hash IS NULL));

ALTER TABLE dunning.audit_head ADD COLUMN last_seq bigint NOT NULL DEFAULT 0
	CHECK (last_seq >= 0);
UPDATE dunning.audit_head SET last_seq = coalesce((SELECT max(id) FROM dunning.audit_log), 0);

-- The canonical text of an audit row, as hashed (see the header).  It is
-- written here, not in a repeatable file: its text holds the boundary,
-- the state of this database when this migration ran.
DO $do$
BEGIN
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION dunning.audit_canonical(a dunning.audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $body$
	SELECT concat_ws(E'\n',
		CASE WHEN a.chain_seq > %s THEN a.chain_seq::text END,
		a.id::text,
		to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		a.actor,
		a.action,
		coalesce(a.invoice_id::text, ''),
		coalesce(a.reminder_id::text, ''),
		a.details::text)
$body$$f$, (SELECT last_seq FROM dunning.audit_head));
END
$do$;

CREATE TRIGGER audit_log_stamp BEFORE INSERT ON dunning.audit_log
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_stamp();
CREATE CONSTRAINT TRIGGER audit_log_chain_at_commit AFTER INSERT ON dunning.audit_log
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_chain_at_commit();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON dunning.audit_log
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_guard();
-- Fire even under session_replication_role = replica (audit_log_no_truncate
-- of 002 stays as it was).
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_stamp;
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_chain_at_commit;
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_no_change;
