-- 021: the audit log's free texts in a side table the purge can clear
-- (issue 17 item 6; SPEC §3.3 purge).  Why and which texts:
-- sql/base/audit_texts.sql.  Rows written before this migration keep
-- their texts: they are chained, and no role may rewrite them.
--
-- dunning.audit_text holds one text of one audit row; the row keeps the
-- text's salted hash (KEY_sha256).  It is read by whoever reads the audit
-- row (the same row-level security: a lawyer sees the texts of the rows
-- dunning.audit_log shows them), and written by nobody but its owner: the
-- trigger below and dunning.purge run as the owner.  No foreign key to
-- dunning.audit_log: it would make a TRUNCATE or a DELETE of the log fail
-- on the key before its guard says why (append-only); the text is
-- written by the statement that writes its row, and goes with it when
-- that statement fails.

CREATE TABLE dunning.audit_text (
	audit_id bigint NOT NULL,
	key      text NOT NULL CHECK (key ~ '^[a-z_]+$'),
	salt     bytea NOT NULL CHECK (length(salt) = 16),
	text     text NOT NULL,
	PRIMARY KEY (audit_id, key)
);

ALTER TABLE dunning.audit_text ENABLE ROW LEVEL SECURITY;
ALTER TABLE dunning.audit_text FORCE ROW LEVEL SECURITY;
-- The lawyer's: the texts of the audit rows the lawyer may read (the
-- subquery is filtered by audit_log_lawyer, 009).
CREATE POLICY audit_text_lawyer ON dunning.audit_text FOR SELECT TO dunning_lawyer
	USING (EXISTS (SELECT 1 FROM dunning.audit_log a WHERE a.id = audit_text.audit_id));
CREATE POLICY audit_text_read ON dunning.audit_text FOR SELECT
	TO dunning_accountant, dunning_daemon, dunning_admin USING (true);
CREATE POLICY audit_text_owner ON dunning.audit_text TO CURRENT_USER
	USING (true) WITH CHECK (true);

REVOKE ALL ON dunning.audit_text FROM PUBLIC;
GRANT SELECT ON dunning.audit_text TO dunning_daemon, dunning_lawyer, dunning_accountant,
	dunning_admin;

-- After audit_log_stamp (by name), so the row has its id.  The WHEN clause
-- is a superset of dunning.audit_texts_move()'s keys, so that rows
-- without a free text (the planner's) do not call it.
CREATE TRIGGER audit_log_texts BEFORE INSERT ON dunning.audit_log
	FOR EACH ROW
	WHEN (NEW.details ?| ARRAY['detail', 'note', 'tracking', 'reference']
	      OR (NEW.details ? 'reason' AND NEW.action IN ('dispute_flagged',
	          'dispute_cleared', 'client_paused', 'client_pause_lifted', 'invoice_paused',
	          'invoice_pause_lifted', 'rejected', 'resend_requested')))
	EXECUTE FUNCTION dunning.audit_texts_move();
-- Fire even under session_replication_role = replica, as the log's others.
ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER audit_log_texts;
