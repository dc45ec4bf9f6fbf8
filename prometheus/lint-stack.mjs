// Static checks of the observability stack that promtool and docker-compose do not do:
//   - every Grafana dashboard parses, and every panel (rows aside) has at least one non-empty query
//     against the "prometheus" datasource; panel ids are unique; template variables have queries;
//   - every recording rule a dashboard or an alert names exists in prometheus/rules/recording.yml;
//   - every alert has severity, summary, description and a runbook_url whose #anchor is a heading of
//     docs/operations.md.
// Usage: node prometheus/lint-stack.mjs   (from anywhere; paths are relative to the repository)
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const problems = [];
const fail = (msg) => problems.push(msg);

// Recording rule names: the rule files are YAML, but `record:` lines are simple enough to read directly.
const recordingText = readFileSync(join(root, 'prometheus/rules/recording.yml'), 'utf8');
const recorded = new Set([...recordingText.matchAll(/^\s*-\s*record:\s*(\S+)\s*$/gm)].map((m) => m[1]));
if (recorded.size === 0) fail('prometheus/rules/recording.yml: no recording rules found');
// A name with a colon in a query is a recording rule (metric names of the exporter never have one).
const checkRecordedNames = (where, expr) => {
  for (const m of expr.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+/g)) {
    if (!recorded.has(m[0])) fail(`${where}: unknown recording rule ${m[0]}`);
  }
};

// Grafana dashboards.
const dashDir = join(root, 'grafana/dashboards');
const dashFiles = readdirSync(dashDir).filter((f) => f.endsWith('.json'));
if (dashFiles.length === 0) fail('grafana/dashboards: no dashboard');
let panelCount = 0;
for (const file of dashFiles) {
  let d;
  try { d = JSON.parse(readFileSync(join(dashDir, file), 'utf8')); } catch (e) { fail(`${file}: not JSON: ${e.message}`); continue; }
  if (!d.uid || !d.title) fail(`${file}: uid and title are required`);
  const ids = new Set();
  const all = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const p of all) {
    const where = `${file}: panel ${p.id} "${p.title}"`;
    if (ids.has(p.id)) fail(`${where}: duplicate id`);
    ids.add(p.id);
    if (p.type === 'row') continue;
    panelCount++;
    if (p.datasource?.uid !== 'prometheus') fail(`${where}: datasource uid must be "prometheus"`);
    const targets = p.targets ?? [];
    if (targets.length === 0) fail(`${where}: no query`);
    for (const t of targets) {
      if (typeof t.expr !== 'string' || t.expr.trim() === '') fail(`${where}: target ${t.refId}: empty query`);
      else checkRecordedNames(`${where} ${t.refId}`, t.expr);
    }
  }
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && !(q && q.trim())) fail(`${file}: variable ${v.name}: empty query`);
  }
  // Replicas: every llm_* / gen_ai_* selector is filtered by the replica variable, and every aggregation of a panel
  // groups by the split variable, so that panels sum across replicas by default and can split by one.
  const names = new Set((d.templating?.list ?? []).map((v) => v.name));
  if (!names.has('replica') || !names.has('split')) fail(`${file}: variables replica and split are required`);
  for (const p of all) {
    for (const t of p.targets ?? []) {
      const expr = t.expr ?? '';
      const where = `${file}: panel ${p.id} "${p.title}" ${t.refId}`;
      const selectors = expr.replace(/\b(by|without)\s*\([^)]*\)/g, '');
      for (const m of selectors.matchAll(/\b((?:llm_|gen_ai_|[a-z_]+:llm_)[a-zA-Z0-9_:]*)(\{[^}]*\})?/g)) {
        if (!(m[2] ?? '').includes('instance=~"$replica"')) fail(`${where}: ${m[1]} is not filtered by instance=~"$replica"`);
      }
      for (const m of expr.matchAll(/\b(sum|max|min|avg|count)\s*(by\s*\(([^)]*)\))?\s*\(/g)) {
        if (!(m[3] ?? '').includes('${split}')) fail(`${where}: ${m[1]} does not group by \${split}`);
      }
    }
  }
}

// Exemplars: a target that asks for them reads raw series (a recording rule has none), and the Prometheus datasource
// links their trace_id to the trace backend and to the dashboard's request page.
for (const file of dashFiles) {
  let d;
  try { d = JSON.parse(readFileSync(join(dashDir, file), 'utf8')); } catch { continue; }
  for (const p of (d.panels ?? []).flatMap((x) => [x, ...(x.panels ?? [])])) {
    for (const t of p.targets ?? []) {
      if (t.exemplar && /[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+/.test(t.expr ?? '')) {
        fail(`${file}: panel ${p.id} "${p.title}" ${t.refId}: exemplars asked of a recording rule, which has none`);
      }
    }
  }
}
const datasources = readFileSync(join(root, 'grafana/provisioning/datasources/datasources.yml'), 'utf8');
if (!/exemplarTraceIdDestinations:[\s\S]*name:\s*trace_id[\s\S]*datasourceUid:\s*jaeger/.test(datasources)) {
  fail('grafana datasources: the Prometheus datasource does not link exemplar trace_id to the jaeger datasource');
}
if (!/exemplarTraceIdDestinations:[\s\S]*url:\s*\S*#\/traces\/\$\{__value\.raw\}/.test(datasources)) {
  fail('grafana datasources: the Prometheus datasource does not link exemplar trace_id to the dashboard (#/traces/${__value.raw})');
}

// Alerts: labels, annotations and runbook anchors.
const alertsText = readFileSync(join(root, 'prometheus/rules/alerts.yml'), 'utf8');
const opsText = readFileSync(join(root, 'docs/operations.md'), 'utf8');
const anchors = new Set([...opsText.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) =>
  m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-')));
const alertBlocks = alertsText.split(/^\s*-\s*alert:\s*/m).slice(1);
if (alertBlocks.length === 0) fail('prometheus/rules/alerts.yml: no alert');
for (const block of alertBlocks) {
  const name = block.split(/\s/)[0];
  for (const key of ['severity', 'summary', 'description', 'runbook_url']) {
    if (!new RegExp(`^\\s+${key}:\\s*\\S`, 'm').test(block)) fail(`alert ${name}: no ${key}`);
  }
  const url = block.match(/runbook_url:\s*(\S+)/)?.[1] ?? '';
  const anchor = url.split('#')[1];
  if (!url.includes('docs/operations.md#') || !anchor) fail(`alert ${name}: runbook_url must point to a section of docs/operations.md`);
  else if (!anchors.has(anchor)) fail(`alert ${name}: docs/operations.md has no heading for #${anchor}`);
  checkRecordedNames(`alert ${name}`, block.split(/^\s+labels:/m)[0].replace(/^\s*#.*$/gm, ''));
}

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`OK ${dashFiles.length} dashboard(s), ${panelCount} panels with queries, ${alertBlocks.length} alerts with runbooks, ${recorded.size} recording rules`);
