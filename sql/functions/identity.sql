-- Who is calling (SPEC §3.1 roles; 009 says why two identities): the
-- staff, a lawyer's own clients, and the operator's switch that lets every
-- role move the clock (base/clock.sql).
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- Is the login (session_user) staff: a superuser, or a member of
-- dunning_admin or dunning_daemon (pg_has_role's MEMBER is true for a
-- superuser)?  session_user, not current_user: inside a SECURITY DEFINER
-- function current_user is the owner.  Every name is qualified and the
-- search_path is not pinned, so that the function is inlined: dunning.now()
-- asks it for every row of a replay's queries.
CREATE OR REPLACE FUNCTION dunning.is_staff() RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT pg_catalog.pg_has_role(session_user, 'dunning_daemon', 'MEMBER')
	    OR pg_catalog.pg_has_role(session_user, 'dunning_admin', 'MEMBER')
$$;

-- May the login act on client P_CLIENT: staff, or the client's lawyer logs
-- in as session_user.  Definer's rights, so that the answer does not depend
-- on what the caller's own policies let it read; false for an unknown
-- client unless staff (the callers check existence first).
CREATE OR REPLACE FUNCTION dunning.my_client(p_client bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT dunning.is_staff() OR EXISTS (
		SELECT 1 FROM dunning.client c JOIN dunning.lawyer l ON l.id = c.lawyer_id
		WHERE c.id = p_client AND l.db_role = session_user)
$$;

-- Has the operator allowed every role's dunning.now to move the clock
-- (replays and demonstrations)?  Definer's rights: dunning.setting is read
-- whoever runs the function.
CREATE OR REPLACE FUNCTION dunning.simulated_clock_allowed() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, dunning, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM dunning.setting
	               WHERE key = 'simulated_clock' AND value = 'allowed')
$$;

REVOKE EXECUTE ON FUNCTION dunning.my_client(bigint), dunning.simulated_clock_allowed()
	FROM PUBLIC;

GRANT EXECUTE ON FUNCTION dunning.is_staff(), dunning.my_client(bigint),
	dunning.simulated_clock_allowed()
	TO dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
