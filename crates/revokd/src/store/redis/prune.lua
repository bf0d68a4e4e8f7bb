-- One bounded pruning step. ARGV[1] prefix, ARGV[2] what (rules | feed | tokens),
-- ARGV[3] now (unix secs), ARGV[4] batch size, ARGV[5] feed retention / registry
-- retention (secs). Returns {removed, more (1 if another step may find more)}.
local P, what, now, batch, retention = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

if what == 'rules' then
  -- Live rules whose expires_at passed: the rule, its index entries.
  local ms = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, batch)
  for _, m in ipairs(ms) do
    local id, tgt = string.match(m, '^([^|]*)|(.*)$')
    redis.call('DEL', P .. 'rule:' .. id)
    redis.call('ZREM', P .. 'live', m)
    redis.call('ZREM', P .. 'exp', m)
    redis.call('ZREM', P .. 'tgt:' .. tgt, id)
  end
  return {#ms, #ms == batch and 1 or 0}
end

if what == 'feed' then
  -- Events leave as a prefix, once older than the retention: the first recent one stops
  -- the trim (a reader further behind reloads the snapshot); the watermark is the
  -- highest seq trimmed.
  local wm = redis.call('GET', P .. 'watermark') or '0'
  local entries = redis.call('XRANGE', P .. 'feed', '(' .. wm .. '-0', '+', 'COUNT', batch)
  local through = nil
  local stopped = false
  for _, e in ipairs(entries) do
    local f = e[2]
    local m = {}
    for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
    if tonumber(m['at']) + retention > now then stopped = true break end
    through = string.match(e[1], '^(%d+)')
  end
  if not through then return {0, 0} end
  local n = redis.call('XTRIM', P .. 'feed', 'MINID', through .. '-1')
  redis.call('SET', P .. 'watermark', through)
  return {n, ((not stopped) and #entries == batch) and 1 or 0}
end

if what == 'tokens' then
  -- Registry entries past exp + retention, and refresh consumptions past their expiry.
  local n = 0
  local ms = redis.call('ZRANGEBYSCORE', P .. 'tokexp', '-inf', now - retention, 'LIMIT', 0, batch)
  for _, m in ipairs(ms) do
    local t = cjson.decode(m)
    redis.call('DEL', P .. 'tok:' .. t[1])
    redis.call('ZREM', P .. 'toks', t[1])
    redis.call('ZREM', P .. 'subtoks:' .. t[2], t[1])
    redis.call('ZREM', P .. 'tokexp', m)
    n = n + 1
  end
  local us = redis.call('ZRANGEBYSCORE', P .. 'usedexp', '-inf', now, 'LIMIT', 0, batch)
  for _, jti in ipairs(us) do
    redis.call('DEL', P .. 'used:' .. jti)
    redis.call('ZREM', P .. 'usedexp', jti)
    n = n + 1
  end
  return {n, (#ms == batch or #us == batch) and 1 or 0}
end

return redis.error_reply('unknown prune step ' .. tostring(what))
