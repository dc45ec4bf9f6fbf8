-- wrk script for LLM-APM's load run (build/load/run.sh): POST /api/chat and, when RATE is set, a fixed request rate.
--
-- wrk has no open-loop rate control (wrk2 is not packaged here). With RATE (requests per second, whole run) and wrk's
-- -c connections, each connection waits a think time before its next request, drawn uniformly from
-- [0.5, 1.5] x connections/RATE seconds, so the total rate is RATE as long as responses are much faster than the
-- mean think time (run.sh checks the achieved rate). Latency is measured from each request's send, as always in wrk.
-- This is a closed loop: if the server stalled, fewer requests would be sent during the stall (coordinated omission),
-- so a p99 from it is a lower bound under stalls; at the low utilisation used here stalls are rare and the achieved
-- rate is printed next to the target so that a shortfall shows.

local rate = tonumber(os.getenv("RATE") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "1")
local mean_ms = 0
if rate > 0 then
  mean_ms = connections * 1000 / rate
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message":"Hello! Could you summarise what an APM does, in two sentences?"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  non2xx = 0
end

function delay()
  if mean_ms <= 0 then
    return 0
  end
  return math.floor(mean_ms * (0.5 + math.random()))
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
  end
  local seconds = summary.duration / 1000000
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.0f errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, errors, bad))
end
