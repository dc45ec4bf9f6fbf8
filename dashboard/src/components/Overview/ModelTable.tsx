import { formatCount, formatFiguresCost, formatDuration, formatPercent } from '../../model/format';
import type { ModelSummary } from '../../types/domain';

export function ModelTable({ models }: { models: ModelSummary[] }) {
  return (
    <section className="card table-card" aria-labelledby="models-title">
      <h2 id="models-title" className="card-title">
        By model
      </h2>
      {models.length === 0 ? (
        <p className="muted table-empty">No requests in this window.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" className="num">Requests</th>
                <th scope="col" className="num">Error rate</th>
                <th scope="col" className="num">Avg latency</th>
                <th scope="col" className="num">p95 latency</th>
                <th scope="col" className="num">Tokens in</th>
                <th scope="col" className="num">Tokens out</th>
                <th scope="col" className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {models.map((model) => (
                <tr key={model.model}>
                  <th scope="row" className="mono">{model.model}</th>
                  <td className="num">{formatCount(model.count)}</td>
                  <td className={`num ${model.errorRate > 0 ? 'text-error' : ''}`}>{formatPercent(model.errorRate)}</td>
                  <td className="num">{formatDuration(model.latencyMs?.avg)}</td>
                  <td className="num">{formatDuration(model.latencyMs?.p95)}</td>
                  <td className="num">{formatCount(model.tokens.input)}</td>
                  <td className="num">{formatCount(model.tokens.output)}</td>
                  <td className={`num ${model.unpricedCount > 0 ? 'text-warn' : ''}`}>{formatFiguresCost(model)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
