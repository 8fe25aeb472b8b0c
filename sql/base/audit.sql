-- The audit log's functions (SPEC §2 rule 10; the table in 002, the chain
-- at COMMIT in 006, which says why, sealed once per transaction in 016):
-- write a row, number and stamp it, chain it, refuse any other change.  dunning.audit_canonical is
-- not here: its text holds the chain's boundary, written by 006 when it ran
-- (state, not code); dunning.audit_hash names the table's row type, so it
-- is in functions/audit.sql.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet;
-- 016 takes PUBLIC's right to call audit_seal).

-- Write one audit row; the functions below and the daemon use it.  P_ACTOR
-- is ignored (issue 17): the row's actor is the session's, set by
-- dunning.audit_stamp(), whatever a caller passes.  The parameter stays so
-- that the signature, which a numbered migration would have to change
-- (sql/README.md), and its callers stay as they are.
CREATE OR REPLACE FUNCTION dunning.audit(p_actor text, p_action text, p_invoice bigint,
                              p_reminder bigint, p_details jsonb) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO dunning.audit_log (action, invoice_id, reminder_id, details)
	VALUES (p_action, p_invoice, p_reminder, coalesce(p_details, '{}'))
$$;

-- Refuse any change to a written row, whoever asks.
CREATE OR REPLACE FUNCTION dunning.audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'dunning.audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

-- How a row is chained (016): an INSERT leaves chain_seq, prev_hash and
-- hash NULL, and a deferred trigger seals the transaction's rows at COMMIT
-- — with every row lock the transaction wanted already held, so nothing
-- waits while holding the head: dunning.audit_seal() locks the head once,
-- hashes the rows in id order and writes them with one UPDATE, checked as
-- a whole by dunning.audit_chain_check() (positions head + 1, head + 2, …
-- with no gap, each prev_hash the hash before it, each hash recomputed),
-- which moves the head, once.  A lawyer's open transaction holds no lock
-- on the head.

-- Number, time-stamp and sign a new row; it is sealed at COMMIT.  The
-- caller's id, at, actor, chain_seq, prev_hash and hash are ignored
-- (issue 17, SPEC §3.5: no caller can write another actor's name):
--  - the actor is the login (session_user: inside this definer function
--    current_user is the owner), or 'daemon' for a login that is a member
--    of dunning_daemon and not a superuser.  A superuser is every role at
--    once (pg_has_role says it is a member of all): its rows carry its own
--    name, whatever program it runs — production connects the daemon as a
--    dunning_daemon login (etc/dunningd.conf);
--  - `at` is the one clock (base/clock.sql).  When it is the session's
--    dunning.now rather than the real clock (a replay: the programs' --now,
--    a staff session's or, with the operator's switch, anyone's SET
--    dunning.now), details also get "real_at", the real instant in the
--    canonical form of `at`, so that a replayed row always says when it was
--    really written.  A row on the real clock has no real_at: a caller's
--    own "real_at" key is taken out.
CREATE OR REPLACE FUNCTION dunning.audit_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	real_now timestamptz := clock_timestamp();
BEGIN
	NEW.id := nextval('dunning.audit_log_id_seq');
	NEW.at := dunning.now();
	NEW.actor := CASE WHEN pg_has_role(session_user, 'dunning_daemon', 'MEMBER')
	                       AND NOT (SELECT r.rolsuper FROM pg_roles r
	                                WHERE r.rolname = session_user)
	                  THEN 'daemon' ELSE session_user::text END;
	-- A client's own action through dunningweb (027, rule 12): a login
	-- granted dunning_web (directly: the role may not exist yet when the
	-- early migrations write rows) writes only through the self-service
	-- functions, each of which names its client in dunning.web_client for
	-- its transaction; such a row is signed client:<id>.
	IF NEW.actor <> 'daemon' AND EXISTS (
		SELECT 1 FROM pg_auth_members m
		JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
		WHERE g.rolname = 'dunning_web' AND u.rolname = session_user AND NOT u.rolsuper)
	THEN
		NEW.actor := 'client:' || coalesce(nullif(current_setting('dunning.web_client', true),
		                                          ''), '?');
	END IF;
	NEW.details := coalesce(NEW.details, '{}'::jsonb);
	IF jsonb_typeof(NEW.details) = 'object' AND NEW.details ? 'real_at' THEN
		NEW.details := NEW.details - 'real_at';
	END IF;
	-- dunning.now()'s own test: the setting is set and honoured.
	IF coalesce(current_setting('dunning.now', true), '') <> ''
	   AND (dunning.is_staff() OR dunning.simulated_clock_allowed()) THEN
		NEW.details := CASE WHEN jsonb_typeof(NEW.details) = 'object' THEN NEW.details
		                    ELSE jsonb_build_object('details', NEW.details) END
		    || jsonb_build_object('real_at', to_char(real_now AT TIME ZONE 'UTC',
		                                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
	END IF;
	NEW.chain_seq := NULL;
	NEW.prev_hash := NULL;
	NEW.hash := NULL;
	RETURN NEW;
END
$$;

-- Chain every row not chained yet that this transaction sees — its own
-- (another transaction's uncommitted rows are invisible, and a committed
-- row is chained at its COMMIT) — in id order, after the head, with one
-- UPDATE; dunning.audit_chain_check() moves the head.  Returns the number
-- of rows chained.  The canonical text names chain_seq: each row is read
-- with its position set (jsonb_populate_record) before it is hashed.
CREATE OR REPLACE FUNCTION dunning.audit_seal() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	h dunning.audit_head;
	ids bigint[];
	texts bytea[];
	prevs bytea[];
	hashes bytea[];
	p bytea;
	n int;
BEGIN
	SELECT * INTO STRICT h FROM dunning.audit_head FOR UPDATE;
	SELECT array_agg(x.id ORDER BY x.id),
	       array_agg(convert_to(dunning.audit_canonical(jsonb_populate_record(x.a,
	           jsonb_build_object('chain_seq', h.last_seq + x.n))), 'UTF8') ORDER BY x.id)
	INTO ids, texts
	FROM (SELECT a, a.id, row_number() OVER (ORDER BY a.id) AS n
	      FROM dunning.audit_log a WHERE a.hash IS NULL) x;
	n := coalesce(array_length(ids, 1), 0);
	IF n = 0 THEN
		RETURN 0;
	END IF;
	p := h.last_hash;
	FOR i IN 1 .. n LOOP
		prevs[i] := p;
		p := sha256(coalesce(p, ''::bytea) || texts[i]);
		hashes[i] := p;
	END LOOP;
	UPDATE dunning.audit_log a
	SET chain_seq = h.last_seq + u.n, prev_hash = u.prev, hash = u.hash
	FROM unnest(ids, prevs, hashes) WITH ORDINALITY AS u(id, prev, hash, n)
	WHERE a.id = u.id AND a.hash IS NULL;
	RETURN n;
END
$$;

-- At COMMIT (a deferred trigger queued for each row inserted unchained):
-- the first to fire seals the transaction's rows; the others find theirs
-- chained and return.
CREATE OR REPLACE FUNCTION dunning.audit_chain_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM dunning.audit_log WHERE id = NEW.id AND hash IS NULL) THEN
		PERFORM dunning.audit_seal();
	END IF;
	RETURN NULL;
END
$$;

-- After a statement that chained rows (the sealing UPDATE, or the same
-- chaining done by hand): under the head's
-- lock, the statement's chained rows must be exactly the next positions of
-- the chain, each linked to the one before and hashed over its canonical
-- text; then the head moves to the last of them.  Anything else is
-- refused, and the statement with it.
CREATE OR REPLACE FUNCTION dunning.audit_chain_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	h dunning.audit_head;
	bad bigint;
	top_seq bigint;
	top_hash bytea;
BEGIN
	SELECT * INTO STRICT h FROM dunning.audit_head FOR UPDATE;
	SELECT (array_agg(x.id ORDER BY x.chain_seq) FILTER (WHERE
	           x.chain_seq IS DISTINCT FROM h.last_seq + x.k
	        OR x.prev_hash IS DISTINCT FROM CASE WHEN x.k = 1 THEN h.last_hash ELSE x.before END
	        OR x.hash IS DISTINCT FROM sha256(coalesce(x.prev_hash, ''::bytea)
	               || convert_to(dunning.audit_canonical(x.a), 'UTF8'))))[1],
	       max(x.chain_seq), (array_agg(x.hash ORDER BY x.chain_seq DESC))[1]
	INTO bad, top_seq, top_hash
	FROM (SELECT c.*, c::dunning.audit_log AS a,
	             lag(c.hash) OVER (ORDER BY c.chain_seq) AS before,
	             row_number() OVER (ORDER BY c.chain_seq) AS k
	      FROM chained c WHERE c.hash IS NOT NULL) x;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'dunning.audit_log is append-only: % refused (row % is not the next link of the chain)',
			TG_OP, bad USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF top_seq IS NOT NULL THEN
		UPDATE dunning.audit_head SET last_seq = top_seq, last_hash = top_hash;
	END IF;
	RETURN NULL;
END
$$;

-- The chain's head (dunning.audit_head, one row) follows the log, and
-- nothing else moves it (019, issue 17): an UPDATE must set it to the last
-- chained row of the log (the chain's check does, at each COMMIT), never
-- back; DELETE and TRUNCATE are refused.  Like the log's guards it is
-- ENABLE ALWAYS.  The owner of the tables can still disable it (as the
-- log's): what shows a head moved back then is a head published earlier
-- outside the database, checked with `dunningctl audit verify --head`.
CREATE OR REPLACE FUNCTION dunning.audit_head_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	top_seq bigint;
	top_hash bytea;
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.one IS NOT DISTINCT FROM OLD.one
	   AND NEW.last_seq >= OLD.last_seq THEN
		SELECT a.chain_seq, a.hash INTO top_seq, top_hash
		FROM dunning.audit_log a WHERE a.chain_seq IS NOT NULL
		ORDER BY a.chain_seq DESC LIMIT 1;
		IF NEW.last_seq = coalesce(top_seq, 0)
		   AND NEW.last_hash IS NOT DISTINCT FROM top_hash THEN
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'dunning.audit_head follows the audit log: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Refuse any change to a written row, whoever asks, except the chaining of
-- a row not yet chained: chain_seq and hash must be given (prev_hash is
-- NULL only for the chain's first row), and every other column must keep
-- its exact value (compared as values and as text, so that even
-- jsonb's 1.0 = 1.00 cannot slip through; the whole row is compared, so a
-- column a later migration adds is covered too).  Whether the three are
-- exactly the chaining is dunning.audit_chain_check()'s to say, once for
-- the statement.
--
-- Why the exception cannot be abused:
--  - it applies only to a row whose chain_seq, prev_hash and hash are all
--    NULL.  A committed row is chained (at its INSERT or its COMMIT; when
--    the sealing fails, the transaction and the row are gone), and nobody
--    sees another transaction's uncommitted row: so only the inserting
--    transaction can use it, on its own rows, before they are committed.
--    Once chained, no UPDATE of the row is allowed;
--  - the chain check leaves no freedom in the three columns, and moves the
--    head with the rows, so the head and the chain cannot drift apart even
--    when the fill-in is done by hand (the sealer then finds the row
--    chained and leaves it).
-- The triggers are ENABLE ALWAYS, so session_replication_role = replica
-- does not skip them; a superuser who disables them is beyond any
-- trigger, and that is what `dunningctl audit verify` is for.
CREATE OR REPLACE FUNCTION dunning.audit_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
DECLARE
	o dunning.audit_log;
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL
	   AND OLD.hash IS NULL THEN
		o := OLD;
		o.chain_seq := NEW.chain_seq;
		o.prev_hash := NEW.prev_hash;
		o.hash := NEW.hash;
		IF NEW.chain_seq IS NOT NULL AND NEW.hash IS NOT NULL
		   AND o IS NOT DISTINCT FROM NEW AND o::text = NEW::text THEN
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'dunning.audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;
