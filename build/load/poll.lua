-- wrk script for build/load/dashboards.sh: open dashboards polling the 24-hour window, as a browser does, over
-- kept-alive connections (one per dashboard). Each connection asks api/summary and then api/timeseries, then waits
-- POLL seconds. Forking a curl per poll would put the load generator's own process start-ups on the measured cores.

local poll_ms = math.floor(tonumber(os.getenv("POLL") or "1") * 1000)
local paths = { "/llm-apm/api/summary?window=24h", "/llm-apm/api/timeseries?window=24h" }
local next_path = 0

function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

-- After the summary, the series at once; after the series, the poll interval.
function delay()
  if next_path == 1 then
    return 0
  end
  return poll_ms
end

function done(summary, latency, requests)
  io.write(string.format("POLLS requests=%d p50_us=%d p99_us=%d errors=%d\n", summary.requests,
    latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
