-- 011: the lawyers' and operator's tools: registered letters, kept messages, GDPR.
SELECT 1;  -- placeholder until filled
