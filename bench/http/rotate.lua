-- wrk script for bench/http/cache.sh: reads the tokens in the file TOKENS_FILE (one per
-- line) and sends them in rotation as a Bearer header, a different token on each request
-- (each wrk thread starts at its own place in the list). When the run is over it prints
-- the same machine-readable RESULT line as bearer.lua.
local path = os.getenv("TOKENS_FILE") or error("TOKENS_FILE is not set")
local reqs = {}
local n = 0
local next_ix = 0

local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

init = function(args)
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      -- Built once per token: wrk sends the prepared bytes, no formatting per request.
      reqs[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. line })
    end
  end
  f:close()
  if n == 0 then error("no tokens in " .. path) end
  next_ix = ((thread_id or 0) * 499) % n
end

request = function()
  next_ix = next_ix % n + 1
  return reqs[next_ix]
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
