-- 004: `dunningctl audit verify` compares the chain's head with the last
-- row (rows deleted at the end show there).  002 revoked everything on the
-- head from PUBLIC and granted nothing back, so the verification failed
-- with "permission denied for table audit_head" for every role but a
-- superuser, the daemon's own role included.  Whoever may read the audit
-- log may read its head (a hash, nothing more); writing stays with the
-- chain's trigger.
GRANT SELECT ON dunning.audit_head
	TO dunning_daemon, dunning_lawyer, dunning_accountant, dunning_admin;
