-- wrk script for bench/http/run.sh: sends the token in TOKEN as a Bearer header and,
-- when the run is over, prints one machine-readable line with the results.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
