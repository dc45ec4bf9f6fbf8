#!/usr/bin/env bash
# Open dashboards against chat latency (issue 13): the sample chat service (Release, simulated LLM at zero latency,
# rate limit raised, SQLite history prefilled with PREFILL records spread over the last 24 hours) loaded with wrk at a
# fixed rate, in alternating phases without and with three dashboards polling the 24-hour window (each poller asks
# api/summary?window=24h and api/timeseries?window=24h every POLL seconds over a kept-alive connection, as a browser
# does; the Overview page polls every 10 s).
# Prints wrk's RESULT line of every phase.
#
#   build/load/dashboards.sh [PHASE_SECONDS=30] [ROUNDS=2]
#   RATE=200 PREFILL=1000000 POLL=1 build/load/dashboards.sh
#
# Loopback only; kills what it starts (by process id) on exit. Results: artifacts/load/dashboards-<timestamp>/.
set -euo pipefail

PHASE=${1:-30}
ROUNDS=${2:-2}
RATE=${RATE:-200}
PREFILL=${PREFILL:-1000000}
POLL=${POLL:-1}
CONNECTIONS=${CONNECTIONS:-8}
PORT=${PORT:-5191}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/artifacts/load/dashboards-$(date -u +%Y%m%dT%H%M%SZ)"
BIN="$ROOT/artifacts/load/bin"
URL="http://127.0.0.1:$PORT"
PIDS=()
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
mkdir -p "$OUT/data"

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

dotnet publish "$ROOT/samples/ChatService" -c Release -o "$BIN" -p:LlmApmSkipDashboardBuild=true -v quiet --nologo >"$OUT/build.log" 2>&1
dotnet run -c Release --project "$ROOT/sdk/bench/LlmApm.Otel.Benchmarks" -- aggregates "$PREFILL" --keep "$OUT/data/llm-apm-history.db" | tee "$OUT/prefill.log"

(cd "$BIN" && exec env ASPNETCORE_URLS="$URL" ASPNETCORE_ENVIRONMENT=Production \
  Llm__Simulated__TimeToFirstTokenMs=0 Llm__Simulated__PerTokenMs=0 ChatService__Retrieval__EmbeddingLatency=00:00:00 \
  ChatService__RateLimit__PermitLimit=1000000000 ChatService__RateLimit__Window=00:00:01 \
  ChatService__DataPath="$OUT/data" Logging__LogLevel__Default=Warning dotnet ChatService.dll) >"$OUT/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 120); do curl -fs "$URL/llm-apm/api/info" >/dev/null 2>&1 && break; sleep 0.5; done
# The first aggregate waits for the rollups to load from the file: done before measuring.
curl -fs "$URL/llm-apm/api/summary?window=24h" | head -c 200; echo

phase() {
  local name=$1
  local line
  line=$(RATE=$RATE CONNECTIONS=$CONNECTIONS wrk -t1 -c"$CONNECTIONS" -d"${PHASE}s" --timeout 5s \
    -s "$ROOT/build/load/fixed-rate.lua" "$URL/api/chat" | tee -a "$OUT/wrk.log" | grep '^RESULT')
  echo "$name $line" | tee -a "$OUT/results.txt"
}

for round in $(seq "$ROUNDS"); do
  phase "round=$round dashboards=0"
  # Three dashboards: one wrk process, a kept-alive connection each (build/load/poll.lua), for the phase and a little more.
  POLL=$POLL wrk -t1 -c3 -d"$((PHASE + 2))s" --timeout 10s -s "$ROOT/build/load/poll.lua" "$URL" >>"$OUT/poll.log" 2>&1 &
  POLLER=$!
  PIDS+=($POLLER)
  sleep 1
  phase "round=$round dashboards=3"
  wait "$POLLER" 2>/dev/null || true
done
