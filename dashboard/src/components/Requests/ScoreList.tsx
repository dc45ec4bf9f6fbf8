import { formatDateTime } from '../../model/format';
import type { Score } from '../../types/domain';

const polarityBadge: Record<Score['polarity'], string> = {
  positive: 'badge badge-ok',
  negative: 'badge badge-error',
  neutral: 'badge',
};

function scoreValue(score: Score): string {
  if (score.kind === 'boolean') return score.label === 'true' ? 'yes' : 'no';
  if (score.kind === 'label') return score.label ?? '—';
  const value = score.value === null ? '—' : String(Math.round(score.value * 1000) / 1000);
  return score.label ? `${value} (${score.label})` : value;
}

/** The scores given to a request: user feedback and evaluations, oldest first. */
export function ScoreList({ scores }: { scores: Score[] }) {
  return (
    <section className="details-section" aria-label="Scores">
      <h3 className="details-title">
        Scores <span className="muted">· feedback and evaluations</span>
      </h3>
      {scores.length === 0 ? (
        <p className="muted small">No feedback or evaluation yet.</p>
      ) : (
        <table className="table scores-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">Verdict</th>
              <th scope="col">Comment</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {scores.map((score, index) => (
              <tr key={`${score.name}-${index}`} data-testid="score-row">
                <td className="mono">{score.name === 'user_feedback' ? 'user feedback' : score.name}</td>
                <td>{scoreValue(score)}</td>
                <td>
                  <span className={polarityBadge[score.polarity]}>{score.polarity}</span>
                </td>
                <td>{score.comment ?? '—'}</td>
                <td className="mono">{score.source ?? '—'}</td>
                <td>{formatDateTime(score.timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
