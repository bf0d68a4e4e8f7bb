-- Small atomic writes. ARGV[1] prefix, ARGV[2] op.
local P, op = ARGV[1], ARGV[2]

if op == 'consume' then
  -- ARGV[3] jti, ARGV[4] now_ms, ARGV[5] expires_at (secs), ARGV[6] PXAT ('' = none).
  -- Returns {1, now_ms} for the one winner, {0, first_used_ms} for every other caller.
  local k = P .. 'used:' .. ARGV[3]
  local ok
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if ARGV[6] ~= '' and tonumber(ARGV[6]) > now_ms + 1000 then
    ok = redis.call('SET', k, ARGV[4], 'NX', 'PXAT', ARGV[6])
  else
    ok = redis.call('SET', k, ARGV[4], 'NX')
  end
  if ok then
    redis.call('ZADD', P .. 'usedexp', ARGV[5], ARGV[3])
    return {1, ARGV[4]}
  end
  return {0, redis.call('GET', k)}
end

if op == 'raise_max' then
  -- ARGV[3] secs. Returns the stored value after the call, as a string.
  local k = P .. 'maxlife'
  local cur = redis.call('GET', k) or '0'
  if tonumber(ARGV[3]) > tonumber(cur) then
    redis.call('SET', k, ARGV[3])
    return ARGV[3]
  end
  return cur
end

if op == 'record' then
  -- ARGV[3] jti, ARGV[4] sub, ARGV[5] type, ARGV[6] iat, ARGV[7] exp, ARGV[8] EXPIREAT
  -- ('' = none), ARGV[9] fam (absent = none). The first record of a jti stands.
  local jti, sub = ARGV[3], ARGV[4]
  local tk = P .. 'tok:' .. jti
  if redis.call('EXISTS', tk) == 1 then return 0 end
  if ARGV[9] then
    redis.call('HSET', tk, 'jti', jti, 'sub', sub, 'type', ARGV[5], 'iat', ARGV[6], 'exp', ARGV[7], 'fam', ARGV[9])
  else
    redis.call('HSET', tk, 'jti', jti, 'sub', sub, 'type', ARGV[5], 'iat', ARGV[6], 'exp', ARGV[7])
  end
  if ARGV[8] ~= '' then redis.call('EXPIREAT', tk, ARGV[8]) end
  redis.call('ZADD', P .. 'toks', 0, jti)
  redis.call('ZADD', P .. 'subtoks:' .. sub, 0, jti)
  redis.call('ZADD', P .. 'tokexp', ARGV[7], cjson.encode({jti, sub}))
  if ARGV[9] then
    local fk = P .. 'fam:' .. ARGV[9]
    local cur = redis.call('GET', fk)
    if not cur or tonumber(cur) < tonumber(ARGV[7]) then
      redis.call('SET', fk, ARGV[7])
      if ARGV[8] ~= '' then redis.call('EXPIREAT', fk, ARGV[8]) else redis.call('PERSIST', fk) end
    end
  end
  return 1
end

return redis.error_reply('unknown op ' .. tostring(op))
