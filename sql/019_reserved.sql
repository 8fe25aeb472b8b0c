-- 019: reserved for the audit chain's guard (issue 17, item 2), written on
-- its own branch; this placeholder keeps the numbers without a gap until
-- that branch is merged and replaces it.  It changes nothing.
SELECT 1;
