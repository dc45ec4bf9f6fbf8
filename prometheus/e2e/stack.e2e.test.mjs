// End-to-end test of the observability stack against a real Prometheus fed by the real chat service.
//
//   node --test prometheus/e2e/stack.e2e.test.mjs        (from the repository root; ~2-4 minutes)
//
// Needs: dotnet (global.json), prometheus (Debian package), Node 20+. No npm packages: fetch, child_process.
// Everything listens on 127.0.0.1 on free ports; every child process is killed and every temporary folder
// removed in after().
//
//  1. Starts the chat service (`dotnet run ... -c Release`, simulated LLM, no demo traffic) and a real
//     Prometheus scraping it every second, with a copy of prometheus/rules/*.yml in which only the alerts'
//     `for:` durations are shortened.
//  2. Sends chats and streamed chats with several models (one unpriced) and injected failures, using the
//     simulator's directives `/model <name> <text>` and `/fault <type>`.
//  3. Lints the /metrics text with `promtool check metrics`, then asserts through Prometheus's HTTP API: every series of the metric contract is ingested with its labels
//     and no *_created series is; every recording rule returns data; every Grafana panel's query returns data
//     (variables set to real values and to All); LlmHighErrorRatio becomes pending or firing under a burst of
//     failures, and LlmUnpricedModelRequests fires for the unpriced model.
//     With exemplar storage on, query_exemplars returns trace ids of the latency, cost and GenAI duration
//     series, and each of them is the trace of a request in the chat service's history API.
//  4. Starts a second instance exporting OTLP/HTTP (protobuf) to a receiver inside this test and asserts that a
//     POST to /v1/traces carries the spans `llm.request /api/chat`, `preprocessing` and `llm_api_call`. The body
//     is not decoded: protobuf stores strings as raw UTF-8 bytes, so a byte search for the span names is a
//     faithful check without a protobuf library.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '127.0.0.1';
const STARTUP_TIMEOUT_MS = Number(process.env.LLM_APM_E2E_STARTUP_TIMEOUT_MS ?? 240_000);
const AVOID_PORTS = new Set([5080, 5199, 5173, 4173]);
const SHORT_FOR = '3s';

const children = [];
const servers = [];
let tmp;

// ------------------------------------------------------------------------------------------ helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  for (;;) {
    const port = await new Promise((res, rej) => {
      const s = createNetServer();
      s.unref();
      s.on('error', rej);
      s.listen(0, HOST, () => { const { port: p } = s.address(); s.close(() => res(p)); });
    });
    if (!AVOID_PORTS.has(port)) return port;
  }
}

function start(name, cmd, args, env) {
  const log = [];
  // detached: the child leads its own process group, so that `dotnet run` and the app it starts die together.
  const child = spawn(cmd, args, { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk) => { log.push(chunk.toString()); if (log.length > 400) log.splice(0, log.length - 400); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const entry = { name, child, log, exited: null };
  child.on('exit', (code, signal) => { entry.exited = { code, signal }; });
  children.push(entry);
  return entry;
}

function tail(entry) {
  return `--- last output of ${entry.name} ---\n${entry.log.join('').split('\n').slice(-60).join('\n')}`;
}

async function stop(entry) {
  if (entry.exited) return;
  const gone = new Promise((r) => entry.child.once('exit', r));
  try { process.kill(-entry.child.pid, 'SIGTERM'); } catch { /* already gone */ }
  const timer = sleep(8000).then(() => 'timeout');
  if ((await Promise.race([gone, timer])) === 'timeout') {
    try { process.kill(-entry.child.pid, 'SIGKILL'); } catch { /* already gone */ }
    await Promise.race([gone, sleep(3000)]);
  }
}

async function waitFor(what, fn, { timeoutMs, intervalMs = 500, entry } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (entry?.exited) throw new Error(`${entry.name} exited (${JSON.stringify(entry.exited)}) while waiting for ${what}\n${tail(entry)}`);
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}${entry ? `\n${tail(entry)}` : ''}`);
}

async function httpOk(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  await r.arrayBuffer();
  return r.ok;
}

// The service's environment: no inherited OTLP settings, no demo traffic, fast and bounded faults.
function serviceEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  delete env.ASPNETCORE_URLS;
  return {
    ...env,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    ChatService__DemoTraffic: 'false',
    ChatService__RateLimit__PermitLimit: '100000',
    Llm__Provider: 'Simulated',
    Llm__Timeout: '00:00:02',
    Llm__MaxRetries: '0',
    Llm__Simulated__PerTokenMs: '2',
    ...extra,
  };
}

function startService(name, port, extraEnv, { build }) {
  const args = ['run', '--project', 'samples/ChatService', '-c', 'Release', '--no-launch-profile'];
  if (!build) args.push('--no-build');
  args.push('--', '--urls', `http://${HOST}:${port}`);
  return start(name, 'dotnet', args, serviceEnv(extraEnv));
}

// Prometheus HTTP API.
let promUrl;
async function promQuery(expr, time) {
  const u = new URL('/api/v1/query', promUrl);
  u.searchParams.set('query', expr);
  if (time) u.searchParams.set('time', String(time));
  const r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error ?? r.status}`);
  return body.data.result;
}
async function promRange(expr, seconds, step = 2) {
  const end = Date.now() / 1000;
  const u = new URL('/api/v1/query_range', promUrl);
  u.searchParams.set('query', expr);
  u.searchParams.set('start', String(end - seconds));
  u.searchParams.set('end', String(end));
  u.searchParams.set('step', String(step));
  const r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`range query failed: ${expr}: ${body.error ?? r.status}`);
  return body.data.result;
}
const finite = (v) => Number.isFinite(Number(v));
const hasFiniteValue = (result) =>
  result.some((s) => (s.value ? finite(s.value[1]) : (s.values ?? []).some((p) => finite(p[1]))));

// Chat traffic.
let serviceUrl;
async function chat(message, { stream = false } = {}) {
  const started = Date.now();
  const r = await fetch(new URL(stream ? '/api/chat/stream' : '/api/chat', serviceUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify({ message }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await r.text();
  return { status: r.status, text, ms: Date.now() - started, message, stream };
}
// User feedback, as the dashboard's thumbs post it: on every other answered chat, up on most, down on some.
async function feedback(results) {
  const ids = results.filter((x) => x.status === 200)
    .map((x) => /"requestId":"([0-9a-f]{32})"/.exec(x.text)?.[1]).filter(Boolean);
  const posted = await inParallel(ids.filter((_, i) => i % 2 === 0), 4, async (id) => {
    const r = await fetch(new URL(`/llm-apm/api/requests/${id}/scores`, serviceUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'user_feedback', boolean: !id.endsWith('0') && !id.endsWith('1'), source: 'e2e' }),
      signal: AbortSignal.timeout(10_000),
    });
    return r.status;
  });
  assert.ok(posted.length > 0 && posted.every((s) => s === 201), `feedback posted: ${posted}`);
}
async function inParallel(items, limit, fn) {
  const queue = [...items];
  const results = [];
  await Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length) { const it = queue.shift(); results.push(await fn(it)); }
  }));
  return results;
}

const PRICED_MODELS = ['gpt-4o', 'gpt-4o-mini'];

// Two soft budgets given through the environment (LlmApm:Budgets): one spent at once, one per model with room.
const BUDGETS = {
  'LlmApm__Budgets__e2e-spent__LimitUsd': '0.000001',
  'LlmApm__Budgets__e2e-roomy__Scope': 'Model',
  'LlmApm__Budgets__e2e-roomy__LimitUsd': '1000000',
  'LlmApm__Budgets__e2e-roomy__Period': 'Month',
};
const UNPRICED_MODEL = 'my-unpriced-model';
const FAULTS = ['rate_limited', 'timeout', 'provider_unavailable', 'content_filtered'];
const ROUTES = [{ stream: false }, { stream: true }];

// --------------------------------------------------------------------------------------- the stack
let otlpBodies = [];
let otlpService;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'llm-apm-e2e-'));

  // The chat service (this builds it in Release when needed).
  const servicePort = await freePort();
  serviceUrl = `http://${HOST}:${servicePort}`;
  const service = startService('chat service', servicePort, BUDGETS, { build: true });
  await waitFor('the chat service /health', () => httpOk(`${serviceUrl}/health`), { timeoutMs: STARTUP_TIMEOUT_MS, entry: service });

  // The OTLP receiver and the second instance (built already: --no-build), started now to overlap its startup.
  const otlpPort = await freePort();
  const receiver = createHttpServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      let body = Buffer.concat(parts);
      if (/gzip/i.test(req.headers['content-encoding'] ?? '')) { try { body = gunzipSync(body); } catch { /* keep raw */ } }
      otlpBodies.push({ path: req.url, contentType: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(); // an empty Export*ServiceResponse
    });
  });
  servers.push(receiver);
  await new Promise((r) => receiver.listen(otlpPort, HOST, r));
  const otlpServicePort = await freePort();
  otlpService = {
    url: `http://${HOST}:${otlpServicePort}`,
    entry: startService('chat service (OTLP)', otlpServicePort, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${otlpPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAME: 'chat-service-e2e',
    }, { build: false }),
  };

  // Prometheus with a test copy of the rules: only `for:` changes.
  const rulesDir = join(tmp, 'rules');
  mkdirSync(rulesDir);
  let shortened = 0;
  for (const f of readdirSync(join(repo, 'prometheus/rules')).filter((n) => n.endsWith('.yml'))) {
    const text = readFileSync(join(repo, 'prometheus/rules', f), 'utf8')
      .replace(/^(\s+for:\s*)\S+\s*$/gm, (_, p) => { shortened++; return `${p}${SHORT_FOR}`; });
    writeFileSync(join(rulesDir, f), text);
  }
  assert.ok(shortened > 0, 'the alert rules have for: durations to shorten');
  const realConfig = readFileSync(join(repo, 'prometheus/prometheus.yml'), 'utf8');
  assert.match(realConfig, /regex:\s*"?\.\*_created"?/, 'prometheus.yml drops *_created series');
  const promPort = await freePort();
  promUrl = `http://${HOST}:${promPort}`;
  const config = join(tmp, 'prometheus.yml');
  writeFileSync(config, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - ${JSON.stringify(join(rulesDir, '*.yml'))}
scrape_configs:
  - job_name: chat-service
    static_configs:
      - targets: ["${HOST}:${servicePort}"]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: ".*_created"
        action: drop
`);
  const prometheus = start('prometheus', 'prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(tmp, 'data')}`,
    `--web.listen-address=${HOST}:${promPort}`,
    '--enable-feature=exemplar-storage',
    '--log.level=warn',
  ], process.env);
  await waitFor('Prometheus /-/ready', () => httpOk(`${promUrl}/-/ready`), { timeoutMs: 30_000, entry: prometheus });
  await waitFor('the first scrape of the chat service', async () => {
    const r = await promQuery('up{job="chat-service"} == 1');
    return r.length === 1;
  }, { timeoutMs: 20_000, entry: prometheus });
}, { timeout: STARTUP_TIMEOUT_MS + 60_000 });

after(async () => {
  await Promise.all(children.map(stop));
  await Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(() => r()); })));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------- tests
let routes = [];
let defaultModel;

test('traffic: chats and streams over several models, with injected failures', { timeout: 90_000 }, async (t) => {
  const t0 = Date.now();
  // Warm-up: one request per route and model, and one failure of each type per route, so that every series
  // exists before the counted traffic (rate() cannot see a counter's first value).
  const warmup = [];
  for (const r of ROUTES) {
    warmup.push({ ...r, message: 'Hello, what is observability?' });
    for (const m of [...PRICED_MODELS, UNPRICED_MODEL]) warmup.push({ ...r, message: `/model ${m} Tell me about tokens.` });
    for (const f of FAULTS) warmup.push({ ...r, message: `/fault ${f}` });
  }
  const w = await inParallel(warmup, 6, (x) => chat(x.message, x));
  assert.ok(w.some((x) => x.status === 200), `some warm-up chats succeed: ${JSON.stringify(w.slice(0, 3))}`);
  assert.ok(w.some((x) => x.status >= 400 || /event: error/.test(x.text)), 'injected faults fail');
  await feedback(w);
  await sleep(2500);

  // Counted traffic: successes on every model and route, some failures.
  const work = [];
  for (let i = 0; i < 4; i++) {
    for (const r of ROUTES) {
      work.push({ ...r, message: `Question ${i}: why do latency histograms matter?` });
      for (const m of [...PRICED_MODELS, UNPRICED_MODEL]) work.push({ ...r, message: `/model ${m} Question ${i} about cost.` });
      work.push({ ...r, message: `/fault ${FAULTS[i % FAULTS.length]}` });
    }
  }
  const results = await inParallel(work, 6, (x) => chat(x.message, x));
  const ok = results.filter((x) => x.status === 200 && !/event: error/.test(x.text)).length;
  assert.ok(ok >= work.length / 2, `most chats succeed (${ok}/${work.length})`);
  await feedback(results);
  const slowest = [...w, ...results].sort((a, b) => b.ms - a.ms).slice(0, 3);
  t.diagnostic(`${w.length + results.length} chats in ${Date.now() - t0} ms; slowest: ${slowest.map((x) => `${x.ms} ms ${x.stream ? 'stream' : 'chat'} "${x.message}" -> ${x.status}`).join('; ')}`);

  // Give Prometheus a few scrapes and rule evaluations.
  await sleep(4000);
  routes = (await promQuery('group by (route) (llm_requests_total)')).map((s) => s.metric.route);
  assert.ok(routes.length >= 2, `requests on both chat routes: ${routes}`);
  const top = await promQuery('topk(1, sum by (model) (llm_requests_total))');
  defaultModel = top[0]?.metric.model;
  assert.ok(defaultModel, 'a model label on llm_requests_total');
});

// The contract (docs/metrics.md, DESIGN section 3): series name -> label names it must carry.
const CONTRACT = {
  llm_requests_total: ['route', 'model', 'status'],
  llm_request_latency_seconds_bucket: ['route', 'model', 'status', 'le'],
  llm_request_latency_seconds_sum: ['route', 'model', 'status'],
  llm_request_latency_seconds_count: ['route', 'model', 'status'],
  llm_step_latency_seconds_bucket: ['route', 'step', 'status', 'le'],
  llm_step_latency_seconds_sum: ['route', 'step', 'status'],
  llm_step_latency_seconds_count: ['route', 'step', 'status'],
  llm_tokens_total: ['route', 'model', 'type'],
  llm_cost_usd_total: ['route', 'model'],
  llm_errors_total: ['route', 'model', 'step', 'error_type'],
  llm_time_to_first_token_seconds_bucket: ['route', 'model', 'le'],
  llm_time_to_first_token_seconds_sum: ['route', 'model'],
  llm_time_to_first_token_seconds_count: ['route', 'model'],
  llm_requests_active: ['route'],
  llm_price_misses_total: ['model'],
  gen_ai_client_operation_duration_seconds_bucket: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'le'],
  gen_ai_client_operation_duration_seconds_sum: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'],
  gen_ai_client_operation_duration_seconds_count: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'],
  gen_ai_client_token_usage_bucket: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type', 'le'],
  gen_ai_client_token_usage_sum: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'],
  gen_ai_client_token_usage_count: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'],
  llm_budget_spent_ratio: ['budget'],
  target_info: [],
};

// An OpenTelemetry counter has no data point before its first Add: llm_history_dropped_total exists only once a
// history record was dropped, which this test does not provoke. Its absence is reported, not failed.
const ONLY_AFTER_FIRST_EVENT = ['llm_history_dropped_total'];

test('every series of the metric contract is ingested, with its labels', async (t) => {
  for (const name of ONLY_AFTER_FIRST_EVENT) {
    const n = (await promQuery(`${name}{job="chat-service"}`)).length;
    t.diagnostic(`${name}: ${n ? 'present' : 'absent (no history record dropped yet)'}`);
  }
  const problems = [];
  for (const [name, labels] of Object.entries(CONTRACT)) {
    const series = await promQuery(`${name}{job="chat-service"}`);
    if (series.length === 0) { problems.push(`${name}: no series`); continue; }
    for (const s of series) {
      const missing = labels.filter((l) => !(l in s.metric));
      if (missing.length) { problems.push(`${name}: series without ${missing.join(', ')}: ${JSON.stringify(s.metric)}`); break; }
      if (name !== 'target_info' && s.metric.otel_scope_name !== 'LlmApm') {
        problems.push(`${name}: otel_scope_name is ${s.metric.otel_scope_name}, not LlmApm`); break;
      }
    }
  }
  const values = async (metric, label) => new Set((await promQuery(`group by (${label}) (${metric})`)).map((s) => s.metric[label]));
  const expectValues = async (metric, label, wanted) => {
    const got = await values(metric, label);
    const missing = wanted.filter((v) => !got.has(v));
    if (missing.length) problems.push(`${metric}: no ${label}=${missing.join('|')} (has ${[...got].join(', ')})`);
  };
  await expectValues('llm_requests_total', 'status', ['ok', 'error']);
  await expectValues('llm_tokens_total', 'type', ['input', 'output']);
  await expectValues('llm_step_latency_seconds_count', 'step', ['preprocessing', 'llm_api_call', 'response_parsing']);
  await expectValues('llm_errors_total', 'error_type', FAULTS);
  await expectValues('llm_price_misses_total', 'model', [UNPRICED_MODEL]);
  await expectValues('llm_requests_total', 'model', PRICED_MODELS);
  // Every error_type is one of the closed set.
  const closed = new Set(['timeout', 'rate_limited', 'authentication', 'invalid_request', 'content_filtered',
    'context_length_exceeded', 'provider_unavailable', 'network', 'cancelled', 'budget_exceeded', '_OTHER']);
  for (const t of await values('llm_errors_total', 'error_type')) if (!closed.has(t)) problems.push(`llm_errors_total: error_type ${t} is not in the closed set`);
  // The relabelling drops every *_created series.
  const created = await promQuery('count by (__name__) ({__name__=~".+_created"})');
  if (created.length) problems.push(`*_created series ingested: ${created.map((s) => s.metric.__name__).join(', ')}`);
  assert.deepEqual(problems, []);
});

test('the /metrics exposition passes promtool check metrics', { timeout: 30_000 }, async () => {
  // The Prometheus text format (promtool does not read OpenMetrics): HELP on every metric, naming conventions.
  const r = await fetch(new URL('/metrics', serviceUrl), { headers: { accept: 'text/plain; version=0.0.4' }, signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200);
  const exposition = await r.text();
  assert.match(exposition, /^llm_requests_total\{/m);
  const lint = await new Promise((res, rej) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { out += c; });
    p.on('error', rej);
    p.on('close', (code) => res({ code, out }));
    p.stdin.end(exposition);
  });
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.out}`);
});

test('every recording rule returns data', async () => {
  const names = [...readFileSync(join(repo, 'prometheus/rules/recording.yml'), 'utf8')
    .matchAll(/^\s*-\s*record:\s*(\S+)\s*$/gm)].map((m) => m[1]);
  assert.ok(names.length > 20, `recording rules found: ${names.length}`);
  const empty = [];
  for (const n of names) if ((await promQuery(n)).length === 0) empty.push(n);
  assert.deepEqual(empty, [], 'recording rules without data');
});

// Grafana's variables, as Grafana's Prometheus datasource formats a single value of a multi-value variable in a regex
// matcher: each special character behind two backslashes in the query text (one for the PromQL string, one for the
// regex), so that an instance such as 127.0.0.1:9090 matches itself.
const grafanaRegexEscape = (v) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
function substitute(expr, vars) {
  return expr
    .replaceAll('$__rate_interval', '20s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '10m')
    .replace(/\$\{?(model|route|replica|split)\}?/g, (_, v) => vars[v]);
}

test('every Grafana panel query returns data', async () => {
  const dashDir = join(repo, 'grafana/dashboards');
  const streamRoute = routes.find((r) => /stream/.test(r)) ?? routes[0];
  // The replica is Prometheus's instance label; "split" sums across replicas (__none__, a label no series has) or
  // splits by one (instance). Both are tried with every panel.
  const [instance] = (await promQuery('group by (instance) (llm_requests_total)')).map((x) => x.metric.instance);
  assert.ok(instance, 'llm_requests_total has an instance label');
  const variants = [
    { name: 'All, no split', vars: { model: '.*', route: '.*', replica: '.*', split: '__none__' } },
    {
      name: `model=${defaultModel}, route=${streamRoute}, replica=${instance}, split by replica`,
      vars: { model: grafanaRegexEscape(defaultModel), route: grafanaRegexEscape(streamRoute), replica: grafanaRegexEscape(instance), split: 'instance' },
    },
  ];
  const problems = [];
  let checked = 0;
  for (const file of readdirSync(dashDir).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(join(dashDir, file), 'utf8'));
    // Template variables: label_values(metric, label).
    for (const v of d.templating?.list ?? []) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      if (v.type === 'custom') {
        // A custom variable's values are substituted above: each must be one of them.
        const values = (v.options ?? []).map((o) => o.value);
        if (v.name !== 'split' || values.join() !== '__none__,instance') problems.push(`${file}: variable ${v.name}: unexpected custom values ${values}`);
        continue;
      }
      const m = /^label_values\((\w+)\s*,\s*(\w+)\)$/.exec(q ?? '');
      if (!m) { problems.push(`${file}: variable ${v.name}: unsupported query ${q}`); continue; }
      const u = new URL(`/api/v1/label/${m[2]}/values`, promUrl);
      u.searchParams.set('match[]', m[1]);
      const body = await (await fetch(u)).json();
      if (!(body.data?.length > 0)) problems.push(`${file}: variable ${v.name}: no values`);
    }
    const panels = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const variant of variants) {
          const expr = substitute(t.expr, variant.vars);
          checked++;
          try {
            const result = t.instant ? await promQuery(expr) : await promRange(expr, 120, 2);
            if (!hasFiniteValue(result)) problems.push(`${file}: "${p.title}" ${t.refId} [${variant.name}]: no data: ${expr}`);
          } catch (e) {
            problems.push(`${file}: "${p.title}" ${t.refId} [${variant.name}]: ${e.message}`);
          }
        }
      }
    }
  }
  assert.ok(checked > 20, `panel queries checked: ${checked}`);
  assert.deepEqual(problems, []);
});

async function promExemplars(expr, seconds) {
  const end = Date.now() / 1000;
  const u = new URL('/api/v1/query_exemplars', promUrl);
  u.searchParams.set('query', expr);
  u.searchParams.set('start', String(end - seconds));
  u.searchParams.set('end', String(end));
  const r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`exemplar query failed: ${expr}: ${body.error ?? r.status}`);
  return body.data.flatMap((series) => series.exemplars.map((e) => ({ series: series.seriesLabels, ...e })));
}

test('exemplars: the latency, cost and GenAI duration series name traces that are in the history', { timeout: 60_000 }, async (t) => {
  const series = ['llm_request_latency_seconds_bucket', 'llm_cost_usd_total', 'gen_ai_client_operation_duration_seconds_bucket'];
  const problems = [];
  for (const name of series) {
    const exemplars = await promExemplars(`${name}{job="chat-service"}`, 600);
    const traces = [...new Set(exemplars.map((e) => e.labels.trace_id).filter(Boolean))];
    if (traces.length === 0) { problems.push(`${name}: no exemplar with a trace_id`); continue; }
    if (!traces.every((id) => /^[0-9a-f]{32}$/.test(id))) problems.push(`${name}: malformed trace ids ${traces.slice(0, 3)}`);
    // Each exemplar's trace is a request of the history (a few per series: each is one API call).
    for (const traceId of traces.slice(0, 5)) {
      const u = new URL('/llm-apm/api/requests', serviceUrl);
      u.searchParams.set('q', traceId);
      const r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
      const body = await r.json();
      if (r.status !== 200) { problems.push(`${name}: history lookup of ${traceId}: ${r.status} ${JSON.stringify(body)}`); continue; }
      if (!body.items.some((record) => record.traceId === traceId)) problems.push(`${name}: trace ${traceId} is not in the history`);
    }
    t.diagnostic(`${name}: ${exemplars.length} exemplars, ${traces.length} traces`);
  }
  assert.deepEqual(problems, []);
});

test('LlmHighErrorRatio goes pending or firing under a burst of failures; LlmUnpricedModelRequests fires', { timeout: 60_000 }, async () => {
  const burst = Array.from({ length: 16 }, (_, i) => `/fault ${FAULTS[i % 2 === 0 ? 0 : 2]}`);
  await inParallel(burst, 6, (m) => chat(m));
  const alerts = await waitFor('LlmHighErrorRatio pending or firing', async () => {
    const body = await (await fetch(new URL('/api/v1/alerts', promUrl))).json();
    const list = body.data.alerts;
    return list.some((a) => a.labels.alertname === 'LlmHighErrorRatio' && ['pending', 'firing'].includes(a.state)) ? list : null;
  }, { timeoutMs: 30_000, intervalMs: 1000 });
  const unpriced = alerts.filter((a) => a.labels.alertname === 'LlmUnpricedModelRequests');
  assert.ok(unpriced.some((a) => a.labels.model === UNPRICED_MODEL),
    `LlmUnpricedModelRequests for ${UNPRICED_MODEL}: ${JSON.stringify(unpriced.map((a) => [a.labels.model, a.state]))}`);
  const quietNow = ['LlmTargetDown', 'LlmNoTraffic'];
  for (const name of quietNow) assert.ok(!alerts.some((a) => a.labels.alertname === name), `${name} stays quiet`);
});

test('budgets: llm_budget_spent_ratio per budget from the environment; LlmBudgetSpent goes pending or firing', { timeout: 60_000 }, async () => {
  const ratio = async (budget) => (await promQuery(`budget:llm_budget_spent_ratio:max{budget="${budget}"}`)).map((s) => Number(s.value[1]));
  const spent = await waitFor('e2e-spent over its limit', async () => ((await ratio('e2e-spent'))[0] > 1 ? true : null), { timeoutMs: 30_000, intervalMs: 1000 });
  assert.ok(spent);
  const [roomy] = await ratio('e2e-roomy');
  assert.ok(roomy > 0 && roomy < 0.8, `e2e-roomy spent ratio ${roomy}`);
  const raw = await promQuery('llm_budget_spent_ratio{job="chat-service",budget="e2e-spent"}');
  assert.equal(raw.length, 1, `one series per budget, no key labels: ${JSON.stringify(raw.map((s) => s.metric))}`);
  const alerts = await waitFor('LlmBudgetSpent pending or firing', async () => {
    const body = await (await fetch(new URL('/api/v1/alerts', promUrl))).json();
    const list = body.data.alerts;
    return list.some((a) => a.labels.alertname === 'LlmBudgetSpent' && a.labels.budget === 'e2e-spent' && ['pending', 'firing'].includes(a.state)) ? list : null;
  }, { timeoutMs: 30_000, intervalMs: 1000 });
  assert.ok(!alerts.some((a) => a.labels.budget === 'e2e-roomy'), 'e2e-roomy stays quiet');
  const api = await (await fetch(new URL('/llm-apm/api/budgets', serviceUrl), { signal: AbortSignal.timeout(10_000) })).json();
  const names = new Set(api.budgets.map((b) => b.name));
  assert.ok(names.has('e2e-spent') && names.has('e2e-roomy'), `api/budgets: ${[...names]}`);
});

test('OTLP: traces reach an OTLP/HTTP receiver with the request and step spans', { timeout: 90_000 }, async () => {
  await waitFor('the OTLP chat service /health', () => httpOk(`${otlpService.url}/health`), { timeoutMs: 60_000, entry: otlpService.entry });
  const r = await fetch(new URL('/api/chat', otlpService.url), {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'Hello over OTLP' }), signal: AbortSignal.timeout(20_000),
  });
  assert.equal(r.status, 200, await r.text());
  const wanted = ['llm.request /api/chat', 'preprocessing', 'llm_api_call'];
  await waitFor('a /v1/traces export with the spans', async () => {
    const traces = otlpBodies.filter((b) => b.path === '/v1/traces');
    const all = Buffer.concat(traces.map((b) => b.body));
    return wanted.every((s) => all.includes(Buffer.from(s, 'utf8')));
  }, { timeoutMs: 30_000, entry: otlpService.entry });
  const traces = otlpBodies.filter((b) => b.path === '/v1/traces');
  assert.ok(traces.every((b) => /application\/x-protobuf/.test(b.contentType ?? '')), `protobuf content type: ${traces.map((b) => b.contentType)}`);
});
