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

LOCK TABLE dunning.audit_log, dunning.audit_head IN ACCESS EXCLUSIVE MODE;

-- The old triggers go first: the backfill below updates every row.
DROP TRIGGER audit_log_chain ON dunning.audit_log;
DROP TRIGGER audit_log_no_change ON dunning.audit_log;
DROP FUNCTION dunning.audit_chain();

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

-- The canonical text of an audit row, as hashed (see the header).
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

-- The hash of row A chained after a row whose hash is PREV (NULL: first).
CREATE FUNCTION dunning.audit_hash(prev bytea, a dunning.audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(coalesce(prev, ''::bytea) || convert_to(dunning.audit_canonical(a), 'UTF8'))
$$;

-- Number and time-stamp a new row; it is chained at COMMIT.  The caller's
-- id, at, chain_seq, prev_hash and hash are ignored.
CREATE FUNCTION dunning.audit_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
BEGIN
	NEW.id := nextval('dunning.audit_log_id_seq');
	NEW.at := dunning.now();
	NEW.actor := coalesce(NEW.actor, session_user::text);
	NEW.details := coalesce(NEW.details, '{}'::jsonb);
	NEW.chain_seq := NULL;
	NEW.prev_hash := NULL;
	NEW.hash := NULL;
	RETURN NEW;
END
$$;

-- At COMMIT: chain the row at the head.  The UPDATE passes through
-- dunning.audit_guard(), which checks it and advances the head.  NEW is the
-- row as inserted: only its chain columns can have changed since (by the
-- same exact chaining done by hand, which the WHERE then skips).
CREATE FUNCTION dunning.audit_chain_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	h dunning.audit_head;
	a dunning.audit_log := NEW;
BEGIN
	SELECT * INTO STRICT h FROM dunning.audit_head FOR UPDATE;
	a.chain_seq := h.last_seq + 1;
	a.prev_hash := h.last_hash;
	a.hash := dunning.audit_hash(h.last_hash, a);
	UPDATE dunning.audit_log
	SET chain_seq = a.chain_seq, prev_hash = a.prev_hash, hash = a.hash
	WHERE id = a.id AND hash IS NULL;
	RETURN NULL;
END
$$;

-- Refuse any change to a written row, whoever asks, except the chaining of
-- a row not yet chained, and that only when it is exactly the chaining.
--
-- Why the exception cannot be abused:
--  - it applies only to a row whose chain_seq, prev_hash and hash are all
--    NULL.  A committed row is always chained (the chaining runs inside the
--    inserting transaction's COMMIT; when it fails, the transaction and the
--    row are gone), and nobody sees another transaction's uncommitted row:
--    so only the inserting transaction can use it, on its own rows, before
--    they are committed.  Once chained, no UPDATE of the row is allowed;
--  - every column but those three must keep its exact value (compared as
--    values and as text, so that even jsonb's 1.0 = 1.00 cannot slip
--    through; the whole row is compared, so a column a later migration
--    adds is covered too);
--  - under the head's lock, chain_seq must be the head's last_seq + 1,
--    prev_hash the head's last_hash, and hash the SHA-256 recomputed here
--    over prev_hash and the row's canonical text (which includes
--    chain_seq).  So the only UPDATE allowed produces exactly the row the
--    chainer would: there is no freedom in any column;
--  - the guard itself advances the head with the row, in the same
--    statement, so the head and the chain cannot drift apart even when the
--    fill-in is done by hand (the chainer then finds the row chained and
--    leaves it).
-- The trigger is ENABLE ALWAYS, so session_replication_role = replica does
-- not skip it; a superuser who disables it is beyond any trigger, and that
-- is what `dunningctl audit verify` is for.
CREATE FUNCTION dunning.audit_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning AS $$
DECLARE
	h dunning.audit_head;
	o dunning.audit_log;
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL
	   AND OLD.hash IS NULL THEN
		o := OLD;
		o.chain_seq := NEW.chain_seq;
		o.prev_hash := NEW.prev_hash;
		o.hash := NEW.hash;
		SELECT * INTO STRICT h FROM dunning.audit_head FOR UPDATE;
		IF o IS NOT DISTINCT FROM NEW AND o::text = NEW::text
		   AND NEW.chain_seq = h.last_seq + 1
		   AND NEW.prev_hash IS NOT DISTINCT FROM h.last_hash
		   AND NEW.hash = dunning.audit_hash(h.last_hash, NEW) THEN
			UPDATE dunning.audit_head SET last_seq = NEW.chain_seq, last_hash = NEW.hash;
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'dunning.audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

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
