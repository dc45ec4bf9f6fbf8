import type { SpendDimension } from '../../api/wireTypes';
import { requestsHref } from '../../hooks/useHashRoute';
import { formatCount, formatFiguresCost } from '../../model/format';
import type { SpendRow } from '../../model/spend';

const titles: Record<SpendDimension, { title: string; column: string; none: string }> = {
  tenant: { title: 'By tenant', column: 'Tenant', none: '(no tenant)' },
  user: { title: 'By user', column: 'User', none: '(no user)' },
  route: { title: 'By route', column: 'Route', none: '(no route)' },
  model: { title: 'By model', column: 'Model', none: '(no model)' },
};

/** One dimension's rows, highest cost first; each key links to the request list filtered by it. */
export function SpendTable({ by, rows, limit }: { by: SpendDimension; rows: SpendRow[]; limit: number }) {
  const { title, column, none } = titles[by];
  const id = `spend-${by}-title`;
  return (
    <section className="card table-card" aria-labelledby={id}>
      <h2 id={id} className="card-title">
        {title}
      </h2>
      {rows.length === 0 ? (
        <p className="muted table-empty">No requests in this window.</p>
      ) : (
        <div className="table-scroll">
          <table className="table spend-table">
            <thead>
              <tr>
                <th scope="col">{column}</th>
                <th scope="col" className="num">Cost</th>
                <th scope="col">Share</th>
                <th scope="col" className="num">Requests</th>
                <th scope="col" className="num">Tokens in</th>
                <th scope="col" className="num">Tokens out</th>
                <th scope="col" className="num">Unpriced</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.key ?? '\u0000none'}>
                  <th scope="row" className="mono spend-key">
                    {row.key === null ? (
                      // The request list cannot filter by "none", so this row links nowhere.
                      <span className="muted">{none}</span>
                    ) : (
                      <a className="link" href={requestsHref({ [by]: row.key })} title={`Requests of ${column.toLowerCase()} ${row.key}`}>
                        {row.key}
                      </a>
                    )}
                  </th>
                  {/* Unpriced requests never read as free: the cost is then a lower bound. */}
                  <td className={`num ${row.unpricedRequests > 0 ? 'text-warn' : ''}`}>
                    {formatFiguresCost({ count: row.requests, costUsd: row.costUsd, unpricedCount: row.unpricedRequests })}
                  </td>
                  <td>
                    <span className="share-bar" aria-label={`${Math.round(row.share * 100)}% of the total`}>
                      <span className="share-bar-fill" style={{ width: `${Math.min(100, row.share * 100)}%` }} />
                    </span>
                  </td>
                  <td className="num">{formatCount(row.requests)}</td>
                  <td className="num">{formatCount(row.inputTokens)}</td>
                  <td className="num">{formatCount(row.outputTokens)}</td>
                  <td className={`num ${row.unpricedRequests > 0 ? 'text-warn' : ''}`}>{formatCount(row.unpricedRequests)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length >= limit ? <p className="muted table-empty">The {limit} highest shown.</p> : null}
        </div>
      )}
    </section>
  );
}
