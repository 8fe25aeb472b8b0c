-- 024: the lawyer's alerts of a fee agreement under partial legal aid
-- (SPEC §2 rule 13; loi n° 91-647 art. 35): the agreement must reach the
-- bâtonnier within fifteen days of its signature on pain of nullity, and
-- the lawyer is told on the day it is signed, five days before the last
-- day and on the last day while it is not filed.
--
-- Such an alert is about an agreement, not an invoice (it may have none
-- yet): lawyer_alert gets the agreement's id, its invoice becomes
-- optional, and one of the two is always named.  Its kind is
-- 'legal_aid'; details.step says which of the three it is, and its
-- event_key ('legal_aid:<agreement>:<step>') makes each told once.  The
-- function that queues them is dunning.legal_aid_alerts_queue
-- (functions/agreements.sql).

ALTER TABLE dunning.lawyer_alert
	ALTER COLUMN invoice_id DROP NOT NULL,
	ADD COLUMN agreement_id bigint REFERENCES dunning.fee_agreement (id),
	DROP CONSTRAINT lawyer_alert_kind_check,
	ADD CONSTRAINT lawyer_alert_kind_check
		CHECK (kind IN ('stage_sent', 'letter_ready', 'failed', 'escalated', 'prescription',
			'legal_aid')),
	ADD CONSTRAINT lawyer_alert_names_its_subject
		CHECK (CASE WHEN kind = 'legal_aid' THEN agreement_id IS NOT NULL
		            ELSE invoice_id IS NOT NULL END);
CREATE INDEX lawyer_alert_agreement_idx ON dunning.lawyer_alert (agreement_id)
	WHERE agreement_id IS NOT NULL;
-- The agreements whose filing is awaited: few rows, read at every pass.
CREATE INDEX fee_agreement_to_file_idx ON dunning.fee_agreement (signed_on)
	WHERE legal_aid = 'partial' AND batonnier_filed_on IS NULL AND signed_on IS NOT NULL;
