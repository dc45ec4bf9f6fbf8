import { formatCount } from '../../model/format';
import type { FeedbackRow } from '../../types/domain';

function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : `${Math.round(ratio * 1000) / 10}%`;
}

/** User feedback by route and model: the share of thumbs up among thumbs up and down, worst first. */
export function FeedbackTable({ rows }: { rows: FeedbackRow[] }) {
  return (
    <section className="card table-card" aria-label="Feedback by route and model">
      <h2 className="card-title">User feedback</h2>
      {rows.length === 0 ? (
        <p className="muted table-empty">No feedback in this window. Rate answers with 👍 or 👎 on the Chat page.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Model</th>
              <th scope="col">👍</th>
              <th scope="col">👎</th>
              <th scope="col">Positive ratio</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.route}|${row.model}`}>
                <td className="mono">{row.route}</td>
                <td className="mono">{row.model}</td>
                <td>{formatCount(row.positive)}</td>
                <td>{formatCount(row.negative)}</td>
                <td data-testid="feedback-ratio">{formatRatio(row.ratio)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
