-- 010: telling the lawyer: immediate alerts and the daily digest.
SELECT 1;  -- placeholder until filled
