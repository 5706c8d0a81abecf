-- wrk script of proxy-vs-nginx.sh: POSTs BENCH_BODY (JSON), with
-- "Authorization: Bearer BENCH_BEARER" when that is set, and prints one
-- machine-readable line at the end:
--   WRK requests duration_us p50_us p99_us socket_errors non_2xx
-- (No response() callback: defining one makes wrk parse every body, which
-- would cost the load generator CPU on a small machine; the script checks
-- the answers with curl before and after each run instead.)
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local bearer = os.getenv("BENCH_BEARER")
if bearer ~= nil and bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
