#!/usr/bin/env bash
# LLM-APM load run: the sample chat service (Release, simulated LLM at zero latency, rate limit raised, in-memory
# history) run several ways side by side on loopback and loaded with wrk, interleaved round by round:
#
#   a  LLM-APM on: request and step spans, llm_* metrics, history ring; /metrics scraped every second
#   b  LlmApm__Enabled=false: no LLM-APM source, meter or processor. OpenTelemetry's ASP.NET Core instrumentation
#      (server spans, http.server.* metrics) and the Prometheus endpoint stay on: this is the service with only the
#      ASP.NET Core instrumentation, i.e. also what (c) asks for. /metrics scraped every second.
#   n  no telemetry at all (LlmApm__Enabled=false and OTEL_SDK_DISABLED=true): the floor, for reference.
#   d  LLM-APM alone: (a) with ChatService__AspNetCoreInstrumentation=false, no ASP.NET Core instrumentation. Against
#      (b), it compares LLM-APM with the instrumentation it would replace on an LLM endpoint.
#   h  diagnostic, only when asked for (MODES="a h b"): (a) with LlmApm__HistoryCapacity=1, so records are built
#      but not kept: the difference to (a) is what keeping 10,000 records costs.
#
# Phases: saturation (wrk, fixed connections, no think time), then a fixed rate below saturation (the Lua script's
# think time, see fixed-rate.lua), then optionally a long memory run of (a) at the fixed rate.
#
#   build/load/run.sh [PHASE_SECONDS=20] [MEMORY_SECONDS=0] [ROUNDS=3]
#   RATE=800 build/load/run.sh ...     fixed rate in requests/s (default: 25% of the lowest saturated rate)
#   DOTNET_COUNTERS=/path/to/dotnet-counters   GC figures (pause time, collections by generation) of every fixed-rate
#                                              phase and the memory run (dotnet tool dotnet-counters)
#   MODES="a b n d"                     the servers to run and their order (default a b n d)
#   PIN=0                               do not pin: by default, on a machine with 2 or more CPUs, the servers run on
#                                       CPUs 1..n-1 and wrk, the scraper and dotnet-counters on CPU 0 (taskset), so
#                                       that the load generator does not take turns with the server on the same core
#
# Bounded in time (every wrk run has -d, servers are waited for at most 60 s), loopback only, and it kills what it
# starts (by process id) on exit. Results: artifacts/load/<timestamp>/ and a summary on stdout.
set -euo pipefail

PHASE=${1:-20}
MEMORY=${2:-0}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/build/load"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$ROOT/artifacts/load/$STAMP"
BIN="$ROOT/artifacts/load/bin"
SAT_CONNECTIONS=${SAT_CONNECTIONS:-16}
read -r -a MODES <<<"${MODES:-a b n d}"
declare -A PORT=([a]=5181 [b]=5182 [n]=5183 [h]=5184 [d]=5185)
declare -A PID=()
HELPERS=()

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
NCPU=$(nproc)
PIN=${PIN:-$(( NCPU >= 2 ? 1 : 0 ))}
SERVER_PIN=() CLIENT_PIN=()
if (( PIN )); then
  command -v taskset >/dev/null || { echo "taskset is missing (util-linux); or run with PIN=0" >&2; exit 1; }
  SERVER_PIN=(taskset -c "1-$((NCPU - 1))") CLIENT_PIN=(taskset -c 0)
fi
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }
mkdir -p "$OUT"

cleanup() {
  for p in "${HELPERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for m in "${!PID[@]}"; do kill "${PID[$m]}" 2>/dev/null || true; done
  for m in "${!PID[@]}"; do wait "${PID[$m]}" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

echo "== build (Release) -> $BIN"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish "$ROOT/samples/ChatService" -c Release -o "$BIN" -p:LlmApmSkipDashboardBuild=true -v quiet --nologo >"$OUT/build.log" 2>&1 \
  || { tail -30 "$OUT/build.log"; exit 1; }

start() {
  local mode=$1; shift
  local port=${PORT[$mode]}
  (
    cd "$BIN"
    exec "${SERVER_PIN[@]}" env ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT=Production \
      Logging__LogLevel__Default=Warning \
      Llm__Simulated__TimeToFirstTokenMs=0 Llm__Simulated__PerTokenMs=0 ChatService__Retrieval__EmbeddingLatency=00:00:00 \
      ChatService__RateLimit__PermitLimit=1000000000 ChatService__RateLimit__Window=00:00:01 \
      ChatService__DurableHistory=false ChatService__DataPath="$OUT/data-$mode" \
      "$@" dotnet ChatService.dll
  ) >"$OUT/server-$mode.log" 2>&1 &
  PID[$mode]=$!
}

for m in "${MODES[@]}"; do
  case $m in
    a) start a ;;
    b) start b LlmApm__Enabled=false ;;
    n) start n LlmApm__Enabled=false OTEL_SDK_DISABLED=true ;;
    h) start h LlmApm__HistoryCapacity=1 ;;
    d) start d ChatService__AspNetCoreInstrumentation=false ;;
    *) echo "unknown mode $m" >&2; exit 2 ;;
  esac
done

for m in "${MODES[@]}"; do
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null "http://127.0.0.1:${PORT[$m]}/health" && break
    kill -0 "${PID[$m]}" 2>/dev/null || { echo "server $m exited:"; tail -20 "$OUT/server-$m.log"; exit 1; }
    sleep 0.5
  done
  curl -sf -o /dev/null "http://127.0.0.1:${PORT[$m]}/health" || { echo "server $m did not start"; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"message":"hi"}' "http://127.0.0.1:${PORT[$m]}/api/chat")
  [[ $code == 200 ]] || { echo "server $m: POST /api/chat answered $code"; exit 1; }
done
echo "== pinning: ${PIN} (servers: ${SERVER_PIN[*]:-any CPU}; wrk: ${CLIENT_PIN[*]:-any CPU})"
echo "== servers up: $(for m in "${MODES[@]}"; do printf '%s=%s ' "$m" "${PID[$m]}"; done)"
COUNTERS=${DOTNET_COUNTERS:-$(command -v dotnet-counters || true)}

# seconds -> dotnet-counters' dd:hh:mm:ss
span() { printf '00:%02d:%02d:%02d' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60)); }

scrape_on() {
  local port=$1
  ( while :; do "${CLIENT_PIN[@]}" curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; sleep 1; done ) &
  SCRAPER=$!
  HELPERS+=("$SCRAPER")
}
scrape_off() { kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" 2>/dev/null || true; }

# wrk <mode> <phase> <round> <seconds> <connections> <rate>
load() {
  local mode=$1 phase=$2 round=$3 seconds=$4 connections=$5 rate=$6
  local port=${PORT[$mode]}
  scrape_on "$port"
  local counters_pid=""
  if [[ -n "$COUNTERS" && $phase == fixed ]]; then
    "${CLIENT_PIN[@]}" "$COUNTERS" collect -p "${PID[$mode]}" --counters System.Runtime --refresh-interval 1 --format csv \
      -o "$OUT/counters-$phase-$round-$mode.csv" --duration "$(span "$seconds")" >/dev/null 2>&1 &
    counters_pid=$!
    HELPERS+=("$counters_pid")
  fi
  local line
  line=$(RATE=$rate CONNECTIONS=$connections "${CLIENT_PIN[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --timeout 5s \
    -s "$HERE/fixed-rate.lua" "http://127.0.0.1:$port/api/chat" | tee -a "$OUT/wrk-$mode.log" | grep '^RESULT')
  scrape_off
  if [[ -n "$counters_pid" ]]; then
    for _ in $(seq 1 30); do kill -0 "$counters_pid" 2>/dev/null || break; sleep 1; done
  fi
  local rss
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${PID[$mode]}/status")
  echo "$phase $round $mode rate=$rate rss_kb=$rss ${line#RESULT }" | tee -a "$OUT/results.txt"
}

echo "== warm-up"
for m in "${MODES[@]}"; do load "$m" warmup 0 5 "$SAT_CONNECTIONS" 0 >/dev/null; done

echo "== saturation: $ROUNDS rounds x ${PHASE}s, $SAT_CONNECTIONS connections"
for r in $(seq 1 "$ROUNDS"); do
  for m in "${MODES[@]}"; do load "$m" saturation "$r" "$PHASE" "$SAT_CONNECTIONS" 0; done
done

if [[ -z "${RATE:-}" ]]; then
  RATE=$(awk '$1=="saturation" { for (i=1;i<=NF;i++) if ($i ~ /^rps=/) { v=substr($i,5)+0; if (min==0 || v<min) min=v } } END { printf "%d", min*0.25 }' "$OUT/results.txt")
fi
# wrk's delay() has a resolution of 1 ms: enough connections that each one's mean think time is at least 20 ms.
RATE_CONNECTIONS=${RATE_CONNECTIONS:-$(( RATE / 50 > 8 ? RATE / 50 : 8 ))}
echo "== fixed rate: $RATE requests/s, $RATE_CONNECTIONS connections, $ROUNDS rounds x ${PHASE}s"
for r in $(seq 1 "$ROUNDS"); do
  for m in "${MODES[@]}"; do load "$m" fixed "$r" "$PHASE" "$RATE_CONNECTIONS" "$RATE"; done
done

if (( MEMORY > 0 )); then
  echo "== memory: (a) at $RATE requests/s for ${MEMORY}s, RSS every 10 s"
  ( for _ in $(seq 1 $((MEMORY / 10))); do
      sleep 10
      echo "$(date -u +%H:%M:%S) rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/${PID[a]}/status") total_added=$(curl -s 'http://127.0.0.1:5181/llm-apm/api/requests?limit=1' | grep -o '"seq":[0-9]*' | head -1)"
    done ) | tee "$OUT/memory-a.txt" &
  SAMPLER=$!
  HELPERS+=("$SAMPLER")
  if [[ -n "$COUNTERS" ]]; then
    "${CLIENT_PIN[@]}" "$COUNTERS" collect -p "${PID[a]}" --counters System.Runtime --refresh-interval 10 --format csv \
      -o "$OUT/counters-a.csv" --duration "$(span "$MEMORY")" >/dev/null 2>&1 &
    COUNTERS_PID=$!
    HELPERS+=("$COUNTERS_PID")
  fi
  load a memory 1 "$MEMORY" "$RATE_CONNECTIONS" "$RATE"
  wait "$SAMPLER" 2>/dev/null || true
  # dotnet-counters writes its file when its duration is over: give it up to 30 s.
  for _ in $(seq 1 30); do [[ -n "${COUNTERS_PID:-}" ]] && kill -0 "$COUNTERS_PID" 2>/dev/null || break; sleep 1; done
fi

echo "== summary ($OUT)"
python3 - "$OUT/results.txt" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    phase, mode = parts[0], parts[2]
    kv = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
    rows.setdefault((phase, mode), []).append(kv)
def med(phase, mode, key):
    vals = [float(r[key]) for r in rows.get((phase, mode), [])]
    return statistics.median(vals) if vals else float("nan")
print(f"{'phase':<11}{'mode':<6}{'rps (median)':>14}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'non2xx':>8}")
for phase in ("saturation", "fixed", "memory"):
    for mode in ("a", "d", "h", "b", "n"):
        if (phase, mode) not in rows: continue
        errs = sum(int(r["errors"]) for r in rows[(phase, mode)]); bad = sum(int(r["non2xx"]) for r in rows[(phase, mode)])
        print(f"{phase:<11}{mode:<6}{med(phase, mode, 'rps'):>14.1f}{med(phase, mode, 'p50_us')/1000:>9.3f}{med(phase, mode, 'p99_us')/1000:>9.3f}{errs:>8}{bad:>8}")
sat = lambda m: med("saturation", m, "rps")
ratios = [("a", "b", " (target >= 0.95)"), ("d", "b", " (LLM-APM alone / ASP.NET Core instrumentation alone)"), ("a", "n", ""), ("b", "n", ""), ("d", "n", ""), ("a", "h", ""), ("h", "b", "")]
print("throughput " + "; ".join(f"{x}/{y} = {sat(x)/sat(y):.3f}{t}" for x, y, t in ratios if (("saturation", x) in rows and ("saturation", y) in rows)))
# p99 added: per round (a - b), median over rounds, so that drifts between rounds cancel.
def p99_added(x, y, note):
    xs = [float(r["p99_us"]) for r in rows.get(("fixed", x), [])]; ys = [float(r["p99_us"]) for r in rows.get(("fixed", y), [])]
    diffs = [(p - q) / 1000 for p, q in zip(xs, ys)]
    if diffs:
        print(f"p99 added by {x} over {y} at the fixed rate = {statistics.median(diffs):.3f} ms (per round: {', '.join(f'{d:.3f}' for d in diffs)}{note})")
p99_added("a", "b", "; target <= 0.5 ms")
p99_added("d", "b", "")
PY
if compgen -G "$OUT/counters-fixed-*.csv" >/dev/null; then
  echo "== GC during the fixed-rate phases (dotnet-counters, 1 s samples; medians of the non-zero samples, all rounds)"
  python3 - "$OUT" <<'PY'
import csv, glob, collections, os, statistics, sys
# A dotnet-counters session that starts on a process soon after another one ended sometimes reads zeros: those
# samples are left out, which is why these are medians of per-second rates rather than sums.
samples = collections.defaultdict(lambda: collections.defaultdict(list))
for path in glob.glob(os.path.join(sys.argv[1], "counters-fixed-*.csv")):
    mode = path.rsplit("-", 1)[1][:-4]
    for row in csv.reader(open(path)):
        if len(row) < 5 or row[0] == "Timestamp": continue
        name, value = row[2], float(row[4])
        key = ("pause" if name.startswith("dotnet.gc.pause.time") else
               "alloc" if name.startswith("dotnet.gc.heap.total_allocated") else
               "gen2" if name.startswith("dotnet.gc.collections") and "gen2" in name else None)
        if key and (value > 0 or key == "gen2"): samples[mode][key].append(value)
print(f"{'mode':<6}{'GC pause ms/s':>15}{'allocated MB/s':>16}{'gen2 GCs/min':>14}{'samples':>9}")
for mode in sorted(samples):
    m = samples[mode]
    med = lambda k, f: statistics.median(m[k]) * f if m[k] else float("nan")
    print(f"{mode:<6}{med('pause', 1000):>15.1f}{med('alloc', 1e-6):>16.0f}{statistics.mean(m['gen2']) * 60 if m['gen2'] else float('nan'):>14.1f}{len(m['alloc']):>9}")
PY
fi
if [[ -f "$OUT/counters-a.csv" ]]; then
  echo "== memory of (a): GC heap after each collection (all generations) and gen-2 collections, per minute"
  python3 - "$OUT/counters-a.csv" <<'PY'
import csv, collections, sys
heap = collections.defaultdict(float); gen2 = collections.defaultdict(float); ws = {}
for row in csv.reader(open(sys.argv[1])):
    if len(row) < 5 or row[0] == "Timestamp": continue
    t, name, value = row[0], row[2], float(row[4])
    if name.startswith("dotnet.gc.last_collection.heap.size"): heap[t] += value
    elif name.startswith("dotnet.gc.collections") and "gen2" in name: gen2[t] += value
    elif name.startswith("dotnet.process.memory.working_set"): ws[t] = value
times = sorted(heap)
per_min = collections.OrderedDict()
for i, t in enumerate(times):
    per_min.setdefault(i * 10 // 60, []).append(t)
print(f"{'minute':>6}{'GC heap MB (min-max)':>24}{'working set MB':>16}{'gen2 GCs':>10}")
for m, ts in per_min.items():
    hs = [heap[t] / 1048576 for t in ts]
    print(f"{m + 1:>6}{f'{min(hs):.1f}-{max(hs):.1f}':>24}{max(ws.get(t, 0) for t in ts) / 1048576:>16.1f}{sum(gen2.get(t, 0) for t in ts):>10.0f}")
PY
fi
