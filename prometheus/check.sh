#!/usr/bin/env bash
# Static checks of the observability stack: Prometheus configuration, rules and their unit tests, the
# compose file, Alertmanager's configuration, and the Grafana dashboards.
#   prometheus/check.sh          static checks (seconds)
#   prometheus/check.sh --e2e    then the end-to-end test against a real Prometheus (minutes; needs dotnet)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "check.sh: '$1' is missing: install $2" >&2
    exit 1
  fi
}
need promtool "the Debian package prometheus"
need docker-compose "the Debian package docker-compose"
need node "Node.js 20 or later"

step() { printf '\n== %s\n' "$*"; }

step "promtool check config"
promtool check config prometheus/prometheus.yml

step "promtool check rules"
promtool check rules prometheus/rules/*.yml

step "promtool test rules"
promtool test rules prometheus/tests/*.yml

step "docker-compose config"
# The compose file requires the dashboard's access key; any value validates.
LLM_APM_DASHBOARD_KEY="${LLM_APM_DASHBOARD_KEY:-check-only}" \
  docker-compose -f deploy/compose/docker-compose.yml config -q
echo "deploy/compose/docker-compose.yml is valid"

step "amtool check-config"
if command -v amtool >/dev/null 2>&1; then
  amtool check-config deploy/compose/alertmanager.yml
else
  echo "SKIPPED: amtool not installed (Debian package prometheus-alertmanager)"
fi

step "Grafana dashboards, recording rule names, runbook anchors"
node prometheus/lint-stack.mjs

if [[ "${1:-}" == "--e2e" ]]; then
  need dotnet "the .NET SDK (global.json)"
  need prometheus "the Debian package prometheus"
  step "end-to-end: the chat service scraped by a real Prometheus"
  node --test --test-timeout=360000 prometheus/e2e/stack.e2e.test.mjs
fi

printf '\nAll observability checks passed.\n'
