import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { requestHref } from '../../hooks/useHashRoute';
import { formatCost, formatCount, formatDuration, formatTime, shortId } from '../../model/format';
import type { RequestRecord } from '../../types/domain';
import { StatusBadge } from '../Common/StatusBadge';
import { RequestDetails } from './RequestDetails';

export interface RequestListProps {
  items: RequestRecord[];
  expandedId: string | null;
  onToggle: (id: string) => void;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}

const ROW_HEIGHT = 44;

/** The request history as a virtualised list: only the rows on screen are in the DOM. */
export function RequestList({ items, expandedId, onToggle, hasMore, loadingMore, onLoadMore }: RequestListProps) {
  const scrollRef = useRef<HTMLDivElement | null>(null);
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (index) => (items[index]?.id === expandedId ? 420 : ROW_HEIGHT),
    getItemKey: (index) => items[index]?.id ?? index,
    overscan: 12,
    initialRect: { width: 1000, height: 800 },
  });
  const virtualItems = virtualizer.getVirtualItems();
  const lastIndex = virtualItems[virtualItems.length - 1]?.index ?? -1;

  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= items.length - 20) onLoadMore();
  }, [hasMore, loadingMore, lastIndex, items.length, onLoadMore]);

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
      </div>
      <div className="request-scroll" ref={scrollRef} tabIndex={-1}>
        <ul
          className="request-list"
          aria-label="Requests"
          aria-rowcount={items.length}
          style={{ height: virtualizer.getTotalSize() }}
        >
          {virtualItems.map((virtualItem) => {
            const record = items[virtualItem.index];
            if (!record) return null;
            const expanded = record.id === expandedId;
            const detailsId = `request-details-${record.id}`;
            return (
              <li
                key={virtualItem.key}
                data-index={virtualItem.index}
                ref={virtualizer.measureElement}
                className={`request-item ${expanded ? 'expanded' : ''} ${record.status === 'error' ? 'is-error' : ''}`}
                style={{ transform: `translateY(${virtualItem.start}px)` }}
              >
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
                </button>
                {expanded ? (
                  <div id={detailsId} className="request-expanded" role="region" aria-label={`Request ${record.id}`}>
                    <RequestDetails record={record} />
                    <a className="link" href={requestHref(record.id)}>
                      Open this request on its own page
                    </a>
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
        {loadingMore ? <p className="list-footer muted">Loading older requests…</p> : null}
        {!hasMore && items.length > 0 ? <p className="list-footer muted">End of history</p> : null}
      </div>
    </div>
  );
}
