-- 019: the audit chain's head guarded like the log (issue 17, SPEC §3.5).
--
-- Until now dunning.audit_head had no trigger: the tables' owner (not a
-- superuser) could disable audit_log_no_change, delete the last rows of
-- the log and set the head to the new last row, and `dunningctl audit
-- verify` passed.  Now the head refuses DELETE and TRUNCATE and any UPDATE
-- that does not move it forward to the last chained row of the log (the
-- one the chain's check at COMMIT writes): dunning.audit_head_guard() in
-- base/audit.sql.  ENABLE ALWAYS, so session_replication_role = replica
-- does not skip it.
--
-- What no trigger can stop: the owner (or a superuser) may disable the
-- triggers of both tables.  Against that the head is also published
-- outside the database — the daemon's log line of every pass, the
-- lawyers' daily digest, `dunningctl audit verify` — and
-- `dunningctl audit verify --head SEQ:HASH` checks the log against a head
-- published earlier: a cut tail or a rewritten row shows there.

LOCK TABLE dunning.audit_head IN ACCESS EXCLUSIVE MODE;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON dunning.audit_head
	FOR EACH ROW EXECUTE FUNCTION dunning.audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON dunning.audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.audit_head_guard();
-- Fire even under session_replication_role = replica.
ALTER TABLE dunning.audit_head ENABLE ALWAYS TRIGGER audit_head_guard;
ALTER TABLE dunning.audit_head ENABLE ALWAYS TRIGGER audit_head_no_truncate;
