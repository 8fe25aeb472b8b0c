-- 009: roles and row-level security (SPEC §3.1): need to know.
SELECT 1;  -- placeholder until filled
