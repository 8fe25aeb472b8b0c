-- 018: the sender's claim (SPEC §3.5: "claim a session's due reminders
-- together, under a lease, not 'sending'; for each message, in one
-- statement, re-check its invoice and mark it 'sending'").
--
-- A claim leaves its reminders planned (or approved) and gives them a
-- lease (lease_until, as 'sending' rows have) and the claim's number
-- (claim): another daemon's claim passes them by while the lease runs; a
-- dispute or a payment cancels or defers them directly, as any planned
-- reminder, and waits for nothing; the sender marks each message 'sending'
-- right before handing it, only if its reminders still carry its claim and
-- their invoices still call for the message.  A claim whose lease ran out
-- (the daemon died) is released by the planner (audited): at most the one
-- message being handed per connection is left 'sending'.
CREATE SEQUENCE dunning.reminder_claim_seq;
ALTER TABLE dunning.reminder ADD COLUMN claim bigint;
COMMENT ON COLUMN dunning.reminder.claim IS
	'the sender''s claim holding this planned reminder while lease_until runs (SPEC §3.5)';
GRANT USAGE ON SEQUENCE dunning.reminder_claim_seq TO dunning_daemon;
