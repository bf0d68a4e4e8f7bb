-- One change to the log, atomically: checks, the next sequence number, the rule keys
-- and the feed entry (stream ID `<seq>-0`). Keys derive from the prefix (standalone
-- Redis; every key of a store shares the prefix).
-- ARGV[1] prefix, ARGV[2] op (revoke | unrevoke | reassign), ARGV[3] now (unix secs).
-- Returns {status, event seq, field, value, ...} (the rule's hash).
local P, op, now = ARGV[1], ARGV[2], ARGV[3]

local function xadd(seq, evop, h)
  local args = {P .. 'feed', seq .. '-0', 'op', evop, 'at', now}
  for i = 1, #h, 2 do
    if h[i] ~= 'removed' and h[i] ~= 'tgt' and h[i] ~= 'p' then
      args[#args + 1] = h[i]
      args[#args + 1] = h[i + 1]
    end
  end
  redis.call('XADD', unpack(args))
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
  if ARGV[5] == '1' then
    for _, other in ipairs(redis.call('ZRANGE', tkey, 0, -1)) do
      local h = redis.call('HGETALL', P .. 'rule:' .. other)
      if #h == 0 then
        redis.call('ZREM', tkey, other) -- expired with its TTL
      else
        return reply('existing', field(h, 'seq'), h)
      end
    end
  end
  local seq = redis.call('INCR', P .. 'seq')
  local rk = P .. 'rule:' .. id
  local h = {'id', id, 'seq', tostring(seq), 'tgt', tgt}
  for i = 9, #ARGV do h[#h + 1] = ARGV[i] end
  redis.call('HSET', rk, 'p', pack(h), unpack(h))
  if ARGV[7] ~= '' then redis.call('EXPIREAT', rk, ARGV[7]) end
  local member = id .. '|' .. tgt
  redis.call('ZADD', P .. 'live', seq, member)
  redis.call('ZADD', P .. 'exp', ARGV[8], member)
  redis.call('ZADD', tkey, seq, id)
  xadd(seq, 'revoke', h)
  return reply('new', seq, h)
end

local rk = P .. 'rule:' .. ARGV[4]
local h = redis.call('HGETALL', rk)
if #h == 0 or field(h, 'removed') then return {'notfound'} end

if op == 'unrevoke' then
  -- ARGV[4] id, ARGV[5] the reversible kinds, as ",kind,kind,".
  if not string.find(ARGV[5], ',' .. field(h, 'kind') .. ',', 1, true) then return {'notreversible'} end
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('HSET', rk, 'removed', '1')
  local tgt = field(h, 'tgt')
  local member = ARGV[4] .. '|' .. tgt
  redis.call('ZREM', P .. 'live', member)
  redis.call('ZREM', P .. 'exp', member)
  redis.call('ZREM', P .. 'tgt:' .. tgt, ARGV[4])
  xadd(seq, 'unrevoke', h)
  return reply('ok', seq, h)
end

if op == 'reassign' then
  -- ARGV[4] id, ARGV[5] actor, ARGV[6] '1' if ARGV[7] is the new reason.
  redis.call('HSET', rk, 'actor', ARGV[5])
  if ARGV[6] == '1' then redis.call('HSET', rk, 'reason', ARGV[7]) end
  local seq = redis.call('INCR', P .. 'seq')
  h = redis.call('HGETALL', rk)
  redis.call('HSET', rk, 'p', pack(h))
  xadd(seq, 'revoke', h)
  return reply('ok', seq, h)
end

return redis.error_reply('unknown op ' .. tostring(op))
