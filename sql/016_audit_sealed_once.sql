-- 016: the audit chain sealed once per transaction, not once per row.
--
-- Until now each audit row was chained by its own deferred trigger at
-- COMMIT: it locked the head, hashed the row, updated it (the guard hashed
-- it again and moved the head), so a transaction of n rows updated the one
-- head row n times.  Its versions piled up inside the transaction (none
-- can be pruned before it ends) and each lookup of the head walked them:
-- a chunk of decisions cost O(n²), 2 s for 10 000 rows, 8 s for 20 000.
--
-- Now (the functions are in base/audit.sql, which says how):
--   - the rows of a transaction are sealed together at COMMIT: the first
--     deferred trigger to fire chains them all in id order with one UPDATE;
--     the others find their row chained;
--   - one check per statement (dunning.audit_chain_check(), an AFTER
--     trigger that sees the statement's rows) verifies the links and the
--     hashes and moves the head, once;
--   - the per-row guard only refuses: any change of a chained row, any
--     change of another column than the three of the chain.
-- The chain, its canonical text and `dunningctl audit verify` are those of
-- 006.

LOCK TABLE dunning.audit_log, dunning.audit_head IN ACCESS EXCLUSIVE MODE;

-- The rows the sealer looks for: those of transactions not yet committed.
CREATE INDEX audit_log_unchained_idx ON dunning.audit_log (id) WHERE hash IS NULL;

CREATE TRIGGER audit_log_chain_check_update AFTER UPDATE ON dunning.audit_log
	REFERENCING NEW TABLE AS chained
	FOR EACH STATEMENT EXECUTE FUNCTION dunning.audit_chain_check();
-- Fire even under session_replication_role = replica.
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_chain_check_update;

-- Nobody calls the sealer but the trigger (it runs at COMMIT, as the
-- table's owner).
REVOKE ALL ON FUNCTION dunning.audit_seal() FROM PUBLIC;
