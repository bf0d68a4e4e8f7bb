-- One change to the log, atomically: checks, the next sequence number, the feed entry
-- (stream ID `<seq>-0`) and the rule keys. Keys derive from the prefix (standalone
-- Redis; every key of a store shares the prefix).
-- ARGV[1] prefix, ARGV[2] op (revoke | unrevoke | reassign), ARGV[3] now (unix secs).
-- Returns {status, event seq, field, value, ...} (the rule's hash).
--
-- Redis does not roll a script back when a command in it fails: what ran before stays.
-- So every check comes first, and the first write is the feed entry, with the explicit
-- ID `<P seq + 1>-0`: if it is refused (the counter is behind the feed, as when `P seq`
-- was lost while the stream was kept), nothing has been written and the script fails
-- with a `REVOKDSEQ` error. Then `P seq`, then the rule keys, which cannot fail.
local P, op, now = ARGV[1], ARGV[2], ARGV[3]

-- The next sequence number: the counter's, plus one.
local function next_seq()
  return (tonumber(redis.call('GET', P .. 'seq')) or 0) + 1
end

-- The highest sequence number the feed ever held (also when trimmed empty), or 0.
local function feed_top()
  if redis.call('EXISTS', P .. 'feed') == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', P .. 'feed')
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return tonumber(string.match(info[i + 1], '^(%d+)')) or 0 end
  end
  return 0
end

-- The change's first write: the feed entry `<seq>-0`, then the counter. Returns nil, or
-- an error reply when the entry was refused (nothing written). XADD itself refuses an
-- ID not above the stream's last one, even when the stream was trimmed empty; the
-- watermark check covers a feed that is gone altogether.
local function xadd(seq, evop, h)
  local wm = tonumber(redis.call('GET', P .. 'watermark')) or 0
  local refusal = nil
  if seq > wm then
    local args = {P .. 'feed', seq .. '-0', 'op', evop, 'at', now}
    for i = 1, #h, 2 do
      if h[i] ~= 'removed' and h[i] ~= 'tgt' and h[i] ~= 'p' then
        args[#args + 1] = h[i]
        args[#args + 1] = h[i + 1]
      end
    end
    local added = redis.pcall('XADD', unpack(args))
    if not (type(added) == 'table' and added.err) then
      redis.call('SET', P .. 'seq', seq)
      return nil
    end
    refusal = added.err
    -- The server's state, not the store's: full (`OOM`, under noeviction) or refusing
    -- writes after a failed save (`MISCONF`). Passed on as is: "not now" (503).
    if string.sub(refusal, 1, 4) == 'OOM ' or string.sub(refusal, 1, 8) == 'MISCONF ' then
      return redis.error_reply(refusal)
    end
  end
  local top = math.max(feed_top(), wm)
  if seq <= top then
    return redis.error_reply('REVOKDSEQ the sequence counter ' .. P .. 'seq gives ' .. seq ..
      ' but the feed already reached ' .. top .. ': keys of this store were lost (evicted or deleted?); ' ..
      'nothing was written. Check the data, then SET ' .. P .. 'seq ' .. top .. ' to resume')
  end
  return redis.error_reply('REVOKDSEQ the feed refused entry ' .. seq .. ' (' .. tostring(refusal) ..
    '): nothing was written')
end

local function field(h, name)
  for i = 1, #h, 2 do
    if h[i] == name then return h[i + 1] end
  end
  return nil
end

-- The rule in one string, for snapshots: each field in a fixed order as
-- `<byte length>:<bytes>`, or `-` when absent.
local PACKED = {'id', 'seq', 'kind', 'target', 'iss', 'before_ms', 'created_at', 'expires_at', 'reason', 'actor'}
local function pack(h)
  local m = {}
  for i = 1, #h, 2 do m[h[i]] = h[i + 1] end
  local out = {}
  for i, name in ipairs(PACKED) do
    local v = m[name]
    if v then out[i] = #v .. ':' .. v else out[i] = '-' end
  end
  return table.concat(out)
end

local function reply(status, seq, h)
  local out = {status, tostring(seq)}
  for i = 1, #h do out[#out + 1] = h[i] end
  return out
end

if op == 'revoke' then
  -- ARGV[4] target key suffix, ARGV[5] '1' if one live rule per target, ARGV[6] id,
  -- ARGV[7] EXPIREAT value ('' = none), ARGV[8] expires_at, ARGV[9..] rule fields.
  local tgt, id = ARGV[4], ARGV[6]
  local tkey = P .. 'tgt:' .. tgt
  local stale = {}
  if ARGV[5] == '1' then
    for _, other in ipairs(redis.call('ZRANGE', tkey, 0, -1)) do
      local h = redis.call('HGETALL', P .. 'rule:' .. other)
      if #h == 0 then
        stale[#stale + 1] = other -- expired with its TTL: dropped from the index below
      else
        return reply('existing', field(h, 'seq'), h)
      end
    end
  end
  local seq = next_seq()
  local rk = P .. 'rule:' .. id
  local h = {'id', id, 'seq', tostring(seq), 'tgt', tgt}
  for i = 9, #ARGV do h[#h + 1] = ARGV[i] end
  local refused = xadd(seq, 'revoke', h)
  if refused then return refused end
  for _, other in ipairs(stale) do redis.call('ZREM', tkey, other) end
  redis.call('HSET', rk, 'p', pack(h), unpack(h))
  if ARGV[7] ~= '' then redis.call('EXPIREAT', rk, ARGV[7]) end
  local member = id .. '|' .. tgt
  redis.call('ZADD', P .. 'live', seq, member)
  redis.call('ZADD', P .. 'exp', ARGV[8], member)
  redis.call('ZADD', tkey, seq, id)
  return reply('new', seq, h)
end

local rk = P .. 'rule:' .. ARGV[4]
local h = redis.call('HGETALL', rk)
if #h == 0 or field(h, 'removed') then return {'notfound'} end

if op == 'unrevoke' then
  -- ARGV[4] id, ARGV[5] the reversible kinds, as ",kind,kind,".
  if not string.find(ARGV[5], ',' .. field(h, 'kind') .. ',', 1, true) then return {'notreversible'} end
  local seq = next_seq()
  local refused = xadd(seq, 'unrevoke', h)
  if refused then return refused end
  redis.call('HSET', rk, 'removed', '1')
  local tgt = field(h, 'tgt')
  local member = ARGV[4] .. '|' .. tgt
  redis.call('ZREM', P .. 'live', member)
  redis.call('ZREM', P .. 'exp', member)
  redis.call('ZREM', P .. 'tgt:' .. tgt, ARGV[4])
  return reply('ok', seq, h)
end

if op == 'reassign' then
  -- ARGV[4] id, ARGV[5] actor, ARGV[6] '1' if ARGV[7] is the new reason.
  local new_reason = ARGV[6] == '1'
  local nh, had_reason = {}, false
  for i = 1, #h, 2 do
    local k, v = h[i], h[i + 1]
    if k == 'actor' then
      v = ARGV[5]
    elseif k == 'reason' then
      had_reason = true
      if new_reason then v = ARGV[7] end
    end
    nh[#nh + 1] = k
    nh[#nh + 1] = v
  end
  if new_reason and not had_reason then
    nh[#nh + 1] = 'reason'
    nh[#nh + 1] = ARGV[7]
  end
  local seq = next_seq()
  local refused = xadd(seq, 'revoke', nh)
  if refused then return refused end
  if new_reason then
    redis.call('HSET', rk, 'actor', ARGV[5], 'reason', ARGV[7], 'p', pack(nh))
  else
    redis.call('HSET', rk, 'actor', ARGV[5], 'p', pack(nh))
  end
  return reply('ok', seq, nh)
end

return redis.error_reply('unknown op ' .. tostring(op))
