#!/usr/bin/env bash
# Publishes the AOT smoke app (sdk/test/LlmApm.Otel.AotSmoke) with native AOT, fails on any trim or AOT warning
# (IL2xxx, IL3xxx), runs the native binary and prints "aot-smoke: N passed, M failed".
# Native AOT on Linux needs clang and zlib (Debian: apt-get install clang zlib1g-dev).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PROJECT=sdk/test/LlmApm.Otel.AotSmoke/LlmApm.Otel.AotSmoke.csproj
OUT="$ROOT/artifacts/aot-smoke"
LOG="$OUT/publish.log"

fail() { echo "aot-smoke: $*" >&2; echo "aot-smoke: 0 passed, 1 failed"; exit 1; }

# --- prerequisites of the native toolchain -------------------------------------------------------------
missing=()
command -v clang >/dev/null 2>&1 || missing+=("clang")
# The native linker needs libz.so (the -dev package's symlink), not only the runtime library.
compgen -G '/usr/lib/*/libz.so' >/dev/null || compgen -G '/usr/lib*/libz.so' >/dev/null || missing+=("zlib1g-dev")
if [[ ${#missing[@]} -gt 0 ]]; then
  fail "native AOT needs the Debian packages: ${missing[*]} (as root: apt-get update && apt-get install ${missing[*]})"
fi

rm -rf "$OUT" && mkdir -p "$OUT"
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) fail "no native AOT runtime identifier for $(uname -m)" ;;
esac

# --- publish -----------------------------------------------------------------------------------------
start=$(date +%s)
dotnet publish "$PROJECT" -c Release -r "$rid" -o "$OUT/bin" --nologo \
  -p:LlmApmSkipDashboardBuild=true -clp:NoSummary >"$LOG" 2>&1
status=$?
echo "aot-smoke: publish took $(( $(date +%s) - start )) s (log: artifacts/aot-smoke/publish.log)"
[[ $status -eq 0 ]] || { grep -E ' error |error [A-Z]+[0-9]+' "$LOG" | sort -u | tail -20; fail "dotnet publish failed (exit $status)"; }

# Every trim or AOT warning fails the run: ours are bugs, and a third-party one is suppressed in the smoke
# project only with a reason. The log repeats warnings; each is listed once.
warnings=$(grep -E 'warning IL[23][0-9]{3}' "$LOG" | sed -E "s#$ROOT/##g; s# \[[^]]*\]\$##" | sort -u)
if [[ -n "$warnings" ]]; then
  echo "$warnings"
  ours=$(grep -cE 'LlmApm\.' <<<"$warnings")
  fail "$(wc -l <<<"$warnings") trim/AOT warning(s), $ours of them naming LlmApm code"
fi
echo "aot-smoke: no trim or AOT warning"

binary="$OUT/bin/LlmApm.Otel.AotSmoke"
[[ -x "$binary" ]] || fail "no native binary at $binary"
[[ ! -f "$OUT/bin/LlmApm.Otel.dll" ]] || fail "the output holds managed assemblies: not a native AOT publish"
echo "aot-smoke: native binary $(du -h "$binary" | cut -f1)"

# --- run ---------------------------------------------------------------------------------------------
timeout 120 "$binary"
exit $?
