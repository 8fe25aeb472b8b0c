-- The firm's calendar for the reports and the purge: its time zone and the
-- end of one of its days.
--
-- Repeatable (sql/README.md): `dunningctl migrate` runs this file again
-- whenever its text changes, so each object here is written once, in its
-- final form: change it here, never in a numbered migration.

-- The firm's time zone, as dunning.today() reads it.
CREATE OR REPLACE FUNCTION dunning.firm_tz() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT value FROM dunning.setting WHERE key = 'timezone'),
	                'Europe/Paris')
$$;

-- The end of day D in the firm's time zone: the first instant of D + 1.
CREATE OR REPLACE FUNCTION dunning.day_end(d date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT (d + 1)::timestamp AT TIME ZONE dunning.firm_tz()
$$;

COMMENT ON FUNCTION dunning.day_end(date) IS
'The end of day D in the firm''s time zone (dunning.setting timezone): the first instant of D + 1. A figure "at the end of D" counts the payments received before it.';

REVOKE ALL ON FUNCTION dunning.firm_tz(), dunning.day_end(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dunning.firm_tz(), dunning.day_end(date)
	TO dunning_accountant, dunning_lawyer, dunning_admin, dunning_daemon;
