#!/usr/bin/env bash
# Runs every test of LLM-APM: .NET (SDK, ASP.NET Core package, SQLite history, chat service), package install,
# code style, a native AOT build, the READMEs' C# blocks, a short soak of the chat service,
# dashboard type checks, lint, unit and browser end-to-end tests, and the Prometheus, Grafana and compose checks
# against a real Prometheus. Installs what it needs (npm packages; Debian's prometheus, chromium, docker-compose,
# clang, zlib1g-dev and postgresql when missing and running as root) and fails loudly when a tool is missing.
#
#   ./test.sh           everything
#   ./test.sh --quick   .NET and dashboard unit tests only
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
LOGS="$ROOT/artifacts/test-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}"

failures=()
passed=0
failed=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "test.sh: $*" >&2; exit 1; }

# --- prerequisites ---------------------------------------------------------------------------------
need_tool() { command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: $2"; }

install_debian() {
  # Each argument is COMMAND:PACKAGE, or FILE-GLOB:PACKAGE for a package without a command (a path with a slash).
  local missing=()
  for pair in "$@"; do
    local cmd=${pair%%:*} pkg=${pair##*:}
    if [[ $cmd == */* ]]; then
      compgen -G "$cmd" >/dev/null || missing+=("$pkg")
    else
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  fi
  say "apt-get install ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$LOGS/apt.log" 2>&1 \
    || { tail -20 "$LOGS/apt.log"; die "apt-get install ${missing[*]} failed"; }
}

need_tool dotnet "install the .NET 10 SDK"
need_tool node "install Node.js 20 or later"
need_tool npm "install npm"
# The PostgreSQL history tests (also in --quick) start a throwaway cluster from the server binaries.
install_debian '/usr/lib/postgresql/*/bin/pg_ctl:postgresql'
if [[ $QUICK -eq 0 ]]; then
  install_debian promtool:prometheus prometheus:prometheus chromium:chromium docker-compose:docker-compose amtool:prometheus-alertmanager \
    clang:clang '/usr/lib/*/libz.so:zlib1g-dev'
  need_tool clang "install the Debian packages clang and zlib1g-dev (native AOT)"
  need_tool promtool "install the Debian package prometheus"
  need_tool prometheus "install the Debian package prometheus"
  need_tool docker-compose "install the Debian package docker-compose"
  [[ -x "$CHROMIUM_PATH" ]] || die "Chromium not found at $CHROMIUM_PATH: install the Debian package chromium"
fi

# --- a suite runner that keeps going and counts ------------------------------------------------------
count_results() {
  # Adds the passed/failed test counts a runner printed to the totals.
  local log=$1 p=0 f=0
  while read -r a b; do p=$((p + a)); f=$((f + b)); done < <(
    sed -E 's/\x1b\[[0-9;]*m//g' "$log" | awk '
      /(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+/ { match($0, /Failed: +[0-9]+/); f=substr($0, RSTART+8, RLENGTH-8)+0; match($0, /Passed: +[0-9]+/); p=substr($0, RSTART+8, RLENGTH-8)+0; print p, f; next }
      /^ *Tests +[0-9]+ (passed|failed)/ { p=0; f=0; if (match($0, /[0-9]+ passed/)) p=substr($0, RSTART, RLENGTH)+0; if (match($0, /[0-9]+ failed/)) f=substr($0, RSTART, RLENGTH)+0; print p, f; next }
      /^ +[0-9]+ passed \(/ { print $1+0, 0; next }
      /^ +[0-9]+ failed$/ { print 0, $1+0; next }
      /^[a-z][a-z-]*: [0-9]+ passed, [0-9]+ failed$/ { print $2+0, $4+0; next }
      /^# pass [0-9]+/ { print $3+0, 0; next }
      /^# fail [0-9]+/ { print 0, $3+0; next }
    ')
  passed=$((passed + p)); failed=$((failed + f))
}

suite() {
  local name=$1; shift
  say "$name"
  local log="$LOGS/$(echo "$name" | tr -c 'a-zA-Z0-9' '-').log"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  count_results "$log"
  if [[ $rc -ne 0 ]]; then
    failures+=("$name (exit $rc, log: ${log#"$ROOT/"})")
    echo "-- $name FAILED (exit $rc) in $((SECONDS - start)) s"
  else
    echo "-- $name ok in $((SECONDS - start)) s"
  fi
  return 0
}

# --- the suites ------------------------------------------------------------------------------------
dashboard_install() {
  (cd dashboard && npm ci --no-audit --no-fund)
}

dashboard_checks() {
  (cd dashboard && npm run --silent typecheck && npm run --silent lint && npm test)
}

dotnet_build() {
  dotnet build LlmApm.Otel.sln -c Release -warnaserror
}

dotnet_format() {
  dotnet format LlmApm.Otel.sln --verify-no-changes --no-restore
}

dotnet_tests() {
  dotnet test LlmApm.Otel.sln -c Release --no-build
}

suite "dashboard: npm ci" dashboard_install
suite "dashboard: typecheck, lint, unit tests" dashboard_checks
suite ".NET: build (dashboard embedded)" dotnet_build
suite ".NET: code style (dotnet format)" dotnet_format
suite ".NET: tests" dotnet_tests

if [[ $QUICK -eq 0 ]]; then
  suite "packages: pack and install into a fresh project" build/pack-smoke.sh
  suite "native AOT: publish and run the smoke app" build/aot-smoke.sh
  suite "docs: every C# block of the READMEs compiles" build/compile-snippets.sh
  suite "soak: chat service under mixed traffic with 5% faults, 45 s" \
    dotnet run --project samples/ChatService.Soak -c Release --no-build -- --duration 45
  suite "stack: promtool, compose, Grafana checks" prometheus/check.sh
  suite "stack: end to end against a real Prometheus" node --test --test-timeout=600000 prometheus/e2e/
  suite "dashboard: end to end in Chromium" bash -c 'cd dashboard && npx playwright test'
fi

say "Summary"
echo "logs: ${LOGS#"$ROOT/"}/"
if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'FAILED: %s\n' "${failures[@]}"
fi
echo "test.sh: $passed passed, $failed failed"
if [[ ${#failures[@]} -gt 0 || $failed -gt 0 ]]; then
  exit 1
fi
if [[ $passed -eq 0 ]]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit 0
