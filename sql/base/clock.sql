-- The one clock (SPEC §3.1): every reading of "now" in SQL, and "today" in
-- the firm's time zone (dunning.setting, published by the daemon).
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.
-- base/: created before the pending numbered migrations, because the
-- tables need them (column defaults, CREATE TRIGGER); no signature names a
-- table, no GRANT (on a new database the roles of 001 do not exist yet).

-- The one clock (SPEC §3.1): the session setting dunning.now when set (the
-- programs set it from --now on every session) and the login is staff, or
-- the operator allowed replays for everyone (functions/identity.sql); the
-- real clock otherwise, so a lawyer cannot date their own audit rows.
-- Where replays are honoured (issue 17): the staff's sessions always —
-- `dunningd --now` and `dunningctl --now` (plan --json previews a date on
-- the production database, read-only) must work without a switch in the
-- database; everyone's only with the operator's switch.  A replay cannot
-- hide: every audit row written while this clock is the setting rather
-- than the real clock records the real instant in its details ("real_at",
-- dunning.audit_stamp in base/audit.sql, which repeats this test), and its
-- actor is the session's, whatever the caller says.
-- Inlined into the queries that call it: an unset setting (production)
-- costs one current_setting, a staff session's replay two role look-ups
-- more, and only a lawyer's or the accountant's session with the setting
-- set reads the operator's switch.
CREATE OR REPLACE FUNCTION dunning.now() RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN coalesce(current_setting('dunning.now', true), '') = ''
	            THEN clock_timestamp()
	            WHEN dunning.is_staff() OR dunning.simulated_clock_allowed()
	            THEN current_setting('dunning.now', true)::timestamptz
	            ELSE clock_timestamp() END
$$;

COMMENT ON FUNCTION dunning.now() IS
'The one clock: the session setting dunning.now when it is set and the login is staff (superuser, dunning_admin, dunning_daemon) or dunning.setting simulated_clock = allowed (replays and demonstrations; off by default); the real clock otherwise.';

-- Today in the firm's time zone, by the one clock.
CREATE OR REPLACE FUNCTION dunning.today() RETURNS date
LANGUAGE sql VOLATILE AS $$
	SELECT (dunning.now() AT TIME ZONE
	        coalesce((SELECT value FROM dunning.setting WHERE key = 'timezone'),
	                 'Europe/Paris'))::date
$$;
