import { formatCost, formatCount, formatDateTime, formatDuration } from '../../model/format';
import type { RequestRecord } from '../../types/domain';
import { StatusBadge } from '../Common/StatusBadge';
import { ScoreList } from './ScoreList';
import { StepPrices } from './StepPrices';
import { StepWaterfall } from './StepWaterfall';

/** Everything recorded about one request: its step waterfall, tokens, cost, error and ids. */
export function RequestDetails({ record }: { record: RequestRecord }) {
  const { tokens } = record;
  return (
    <div className="details">
      <section className="details-section details-waterfall" aria-label="Step waterfall">
        <h3 className="details-title">
          Steps <span className="muted">· {formatDuration(record.durationMs)} total</span>
        </h3>
        <StepWaterfall steps={record.steps} durationMs={record.durationMs} droppedSteps={record.droppedSteps} />
      </section>
      <StepPrices steps={record.steps} />
      <div className="details-grid">
        <section className="details-section" aria-label="Tokens">
          <h3 className="details-title">Tokens{tokens.estimated ? <span className="muted"> · estimated</span> : null}</h3>
          <dl className="kv">
            <dt>Input</dt>
            <dd>{formatCount(tokens.input)}</dd>
            <dt>Output</dt>
            <dd>{formatCount(tokens.output)}</dd>
            <dt>Cached input</dt>
            <dd>{formatCount(tokens.cachedInput)}</dd>
            <dt>Reasoning</dt>
            <dd>{formatCount(tokens.reasoning)}</dd>
            <dt>Total</dt>
            <dd>{formatCount(tokens.total)}</dd>
          </dl>
        </section>
        <section className="details-section" aria-label="Outcome">
          <h3 className="details-title">Outcome</h3>
          <dl className="kv">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={record.status} errorType={record.errorType} />
            </dd>
            <dt>Cost</dt>
            <dd>{record.costUsd === null ? <span className="badge badge-warn">unpriced</span> : formatCost(record.costUsd)}</dd>
            {record.status === 'error' ? (
              <>
                <dt>Error type</dt>
                <dd className="mono">{record.errorType ?? '—'}</dd>
                <dt>Message</dt>
                <dd className="error-message">{record.errorMessage ?? '—'}</dd>
              </>
            ) : null}
          </dl>
        </section>
        <section className="details-section" aria-label="Identifiers">
          <h3 className="details-title">Request</h3>
          <dl className="kv">
            <dt>Started</dt>
            <dd>{formatDateTime(record.startTime)}</dd>
            <dt>Route</dt>
            <dd className="mono">{record.route}</dd>
            <dt>Model</dt>
            <dd className="mono">{record.model ?? '—'}{record.provider ? <span className="muted"> · {record.provider}</span> : null}</dd>
            <dt>Replica</dt>
            <dd className="mono selectable">{record.replica ?? '—'}</dd>
            <dt>User</dt>
            <dd className="mono selectable">{record.userId ?? '—'}</dd>
            <dt>Tenant</dt>
            <dd className="mono selectable">{record.tenantId ?? '—'}</dd>
            <dt>Request id</dt>
            <dd className="mono selectable">{record.id}</dd>
            <dt>Trace id</dt>
            <dd className="mono selectable">{record.traceId}</dd>
            {record.conversationId ? (
              <>
                <dt>Conversation</dt>
                <dd className="mono selectable">{record.conversationId}</dd>
              </>
            ) : null}
          </dl>
        </section>
      </div>
      {Object.keys(record.properties).length > 0 ? (
        <section className="details-section" aria-label="Properties">
          <h3 className="details-title">Properties</h3>
          <dl className="kv">
            {Object.entries(record.properties)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([key, value]) => (
                <div key={key} className="kv-pair">
                  <dt className="mono">{key}</dt>
                  <dd className="mono selectable">{value}</dd>
                </div>
              ))}
          </dl>
        </section>
      ) : null}
      <ScoreList scores={record.scores} />
      {record.content ? (
        <section className="details-section" aria-label="Content">
          <h3 className="details-title">Content <span className="muted">· captured, after redaction</span></h3>
          <div className="content-pair">
            <div>
              <div className="muted small">Prompt</div>
              <pre className="content-text">{record.content.prompt}</pre>
            </div>
            <div>
              <div className="muted small">Completion</div>
              <pre className="content-text">{record.content.completion}</pre>
            </div>
          </div>
        </section>
      ) : null}
    </div>
  );
}
