-- The audit log's functions (SPEC §2 rule 10; the table in 002, the chain
-- at COMMIT in 006, which says why): write a row, number and stamp it,
-- chain it at COMMIT, refuse any other change.  dunning.audit_canonical is
-- not here: its text holds the chain's boundary, written by 006 when it ran
-- (state, not code); dunning.audit_hash names the table's row type, so it
-- is in functions/audit.sql.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet).

-- Write one audit row; the functions below and the daemon use it.
CREATE OR REPLACE FUNCTION dunning.audit(p_actor text, p_action text, p_invoice bigint,
                              p_reminder bigint, p_details jsonb) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO dunning.audit_log (actor, action, invoice_id, reminder_id, details)
	VALUES (p_actor, p_action, p_invoice, p_reminder, coalesce(p_details, '{}'))
$$;

-- Refuse any change to a written row, whoever asks.
CREATE OR REPLACE FUNCTION dunning.audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'dunning.audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Number and time-stamp a new row; it is chained at COMMIT.  The caller's
-- id, at, chain_seq, prev_hash and hash are ignored.
CREATE OR REPLACE FUNCTION dunning.audit_stamp() RETURNS trigger
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
CREATE OR REPLACE FUNCTION dunning.audit_chain_at_commit() RETURNS trigger
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
CREATE OR REPLACE FUNCTION dunning.audit_guard() RETURNS trigger
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
