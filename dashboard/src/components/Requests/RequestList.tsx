import { useCallback } from 'react';
import { requestHref } from '../../hooks/useHashRoute';
import { formatCost, formatCount, formatDuration, formatTime, shortId } from '../../model/format';
import type { RequestRecord } from '../../types/domain';
import { StatusBadge } from '../Common/StatusBadge';
import { VirtualList } from '../Common/VirtualList';
import { RequestDetails } from './RequestDetails';

export interface RequestListProps {
  items: RequestRecord[];
  expandedId: string | null;
  onToggle: (id: string) => void;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}

export const ROW_HEIGHT = 44;

function whoTitle(record: RequestRecord): string | undefined {
  const parts = [record.userId ? `user ${record.userId}` : null, record.tenantId ? `tenant ${record.tenantId}` : null];
  const text = parts.filter(Boolean).join(', ');
  return text || undefined;
}
const getKey = (record: RequestRecord) => record.id;

/** The request history as a virtualised list: only the rows on screen are in the DOM. */
export function RequestList({ items, expandedId, onToggle, hasMore, loadingMore, onLoadMore }: RequestListProps) {
  const onRangeEnd = useCallback(
    (lastIndex: number) => {
      if (hasMore && !loadingMore && lastIndex >= items.length - 20) onLoadMore();
    },
    [hasMore, loadingMore, items.length, onLoadMore],
  );

  const renderItem = (record: RequestRecord) => {
    const expanded = record.id === expandedId;
    const detailsId = `request-details-${record.id}`;
    return (
      <div className={`request-item ${expanded ? 'expanded' : ''}`}>
        <button
          type="button"
          className="request-row"
          aria-expanded={expanded}
          aria-controls={expanded ? detailsId : undefined}
          data-request-id={record.id}
          onClick={() => onToggle(record.id)}
        >
          <span className="chevron" aria-hidden="true" />
          <span className="cell-time">{formatTime(record.startTime)}</span>
          <span>
            <StatusBadge status={record.status} errorType={record.errorType} />
          </span>
          <span className="mono truncate">{record.route}</span>
          <span className="mono truncate">{record.model ?? '—'}</span>
          <span className="num">{formatDuration(record.durationMs)}</span>
          <span className="num">{formatCount(record.tokens.total)}</span>
          <span className={`num ${record.costUsd === null ? 'muted' : ''}`}>{formatCost(record.costUsd)}</span>
          <span className="mono muted truncate">{shortId(record.id)}</span>
          <span className="mono muted truncate" title={record.replica ?? undefined}>
            {record.replica ?? '—'}
          </span>
          <span className="truncate" title={whoTitle(record)}>
            {record.userId || record.tenantId ? (
              <>
                {record.userId ? <span className="mono">{record.userId}</span> : null}
                {record.tenantId ? (
                  <span className="tag-chip mono" data-testid="tenant-chip">
                    {record.tenantId}
                  </span>
                ) : null}
              </>
            ) : (
              <span className="muted">—</span>
            )}
          </span>
        </button>
        {expanded ? (
          <div id={detailsId} className="request-expanded" role="region" aria-label={`Request ${record.id}`}>
            <RequestDetails record={record} />
            <a className="link" href={requestHref(record.id)}>
              Open this request on its own page
            </a>
          </div>
        ) : null}
      </div>
    );
  };

  return (
    <div className="request-table">
      <div className="request-head" aria-hidden="true">
        <span />
        <span>Time</span>
        <span>Status</span>
        <span>Route</span>
        <span>Model</span>
        <span className="num">Duration</span>
        <span className="num">Tokens</span>
        <span className="num">Cost</span>
        <span>Request id</span>
        <span>Replica</span>
        <span>User · tenant</span>
      </div>
      <VirtualList
        items={items}
        getKey={getKey}
        rowHeight={ROW_HEIGHT}
        expandedKey={expandedId}
        expandedEstimate={460}
        label="Requests"
        renderItem={renderItem}
        onRangeEnd={onRangeEnd}
        footer={
          loadingMore ? (
            <p className="list-footer muted">Loading older requests…</p>
          ) : !hasMore && items.length > 0 ? (
            <p className="list-footer muted">End of history</p>
          ) : null
        }
      />
    </div>
  );
}
