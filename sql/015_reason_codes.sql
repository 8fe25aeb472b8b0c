-- 015: dunning.reminder.reason holds codes only — the codes of lib/reason.c,
-- whose table gives each its French and English text — and what was kept in
-- it as prose gets a column of its own:
--   retrying     the row waits for its backoff after a temporary failure
--                (was reason = 'retry_backoff', read back by the planner);
--   letter_path  where the formal notice was written (was "letter written
--                to PATH" in reason, parsed by the sender and letter_sent);
--   last_error   only the relay's answer or the error, never the reason.
-- A sent reminder has no reason: the relay's answer stays in its 'sent'
-- audit row.

ALTER TABLE dunning.reminder
	ADD COLUMN retrying boolean NOT NULL DEFAULT false,
	ADD COLUMN letter_path text;

UPDATE dunning.reminder SET retrying = true
WHERE reason = 'retry_backoff' AND state IN ('planned', 'approved');

UPDATE dunning.reminder
SET letter_path = substr(reason, length('letter written to ') + 1)
WHERE state = 'sent' AND reason LIKE 'letter written to %';

UPDATE dunning.reminder SET reason = NULL
WHERE state = 'sent' AND reason IS DISTINCT FROM 'marked_sent';

-- The planner's reasons, written until now as the policy's English.
UPDATE dunning.reminder SET reason = CASE reason
	WHEN 'stage due' THEN 'due'
	WHEN 'stage not due yet' THEN 'not_due'
	WHEN 'minimum gap after the previous stage' THEN 'min_gap'
	WHEN 'minimum gap after the dispute was cleared' THEN 'dispute_cleared_gap'
	WHEN 'payment received recently (grace period)' THEN 'payment_grace'
	WHEN 'outside the send window' THEN 'send_window'
	WHEN 'awaiting a lawyer''s approval' THEN 'awaiting_approval'
	WHEN 'approved by a lawyer' THEN 'approved'
	WHEN 'invoice cancelled' THEN 'invoice_cancelled'
	WHEN 'invoice written off' THEN 'written_off'
	WHEN 'a reminder is being sent' THEN 'being_sent'
	WHEN 'a reminder is in doubt: the operator must resolve it' THEN 'in_doubt'
	WHEN 'a reminder failed: a lawyer must act' THEN 'failed'
	WHEN 'a reminder has a stage the configuration no longer knows' THEN 'unknown_stage'
	WHEN 'all stages done; waiting for the escalation delay' THEN 'sequence_done'
	WHEN 'no payment after the last stage: hand over to the lawyer' THEN 'escalation_due'
	WHEN 'already handed over to the lawyer' THEN 'escalated'
	WHEN 'retry after a temporary failure, not before its backoff' THEN 'retry_backoff'
	ELSE reason END
WHERE state <> 'sent';

-- A failed reminder: reason 'failed' and the why in English in last_error;
-- now the why's code, and last_error the relay's answer or the error alone.
UPDATE dunning.reminder SET
	reason = CASE
		WHEN last_error = 'the client has no e-mail address' THEN 'no_email'
		WHEN last_error = 'the client''s e-mail address is invalid' THEN 'invalid_email'
		WHEN last_error = 'the client has no postal address' THEN 'no_postal_address'
		WHEN last_error = 'a name contains a line break or a control character'
			THEN 'control_in_name'
		WHEN last_error = 'the postal address contains a line break or a control character'
			THEN 'control_in_address'
		WHEN last_error = 'an invoice number or reference contains a control character'
			THEN 'control_in_number'
		WHEN last_error ~ '^gave up after [0-9]+ attempts: ' THEN 'gave_up'
		WHEN last_error ~ '^5[0-9][0-9]' THEN 'relay_refused'
		ELSE 'not_composed' END,
	last_error = CASE
		WHEN last_error ~ '^gave up after [0-9]+ attempts: '
			THEN regexp_replace(last_error, '^gave up after [0-9]+ attempts: ', '')
		WHEN last_error IN ('the client has no e-mail address',
			'the client''s e-mail address is invalid', 'the client has no postal address',
			'a name contains a line break or a control character',
			'the postal address contains a line break or a control character',
			'an invoice number or reference contains a control character') THEN NULL
		ELSE last_error END
WHERE state = 'failed' AND reason = 'failed';

-- From now on a reason is a code, never a sentence (nor an empty one).
UPDATE dunning.reminder SET reason = NULL WHERE reason = '';
ALTER TABLE dunning.reminder ADD CONSTRAINT reminder_reason_is_a_code
	CHECK (reason ~ '^[a-z][a-z0-9_]{0,39}$');
