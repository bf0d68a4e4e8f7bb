-- revokd schema, version 2: the one-live-rule key of jti and family rules becomes
-- unambiguous (`kind|iss length in bytes, or -|iss target`, as `store::target_key`):
-- "kind|iss|target" let issuer "a|b" with jti "c" collide with issuer "a" and jti "b|c".
UPDATE revocations
SET uniq = kind || '|' || COALESCE(CAST(length(CAST(iss AS BLOB)) AS TEXT), '-') || '|' || COALESCE(iss, '') || COALESCE(target, '')
WHERE uniq IS NOT NULL;
