import { useCallback, useEffect, useRef, useState } from 'react';
import type { WireRequestRecord } from '../api/wireTypes';
import { requestFromWire } from '../model/fromWire';
import { appendPage, matchesFilter, prependRecords } from '../model/requestFilter';
import type { RequestFilter, RequestRecord } from '../types/domain';
import { useHistoryClient, useLiveStream } from './services';

export const PAGE_SIZE = 100;
/** The most records kept in memory; the list is virtualised, so this is about memory, not speed. */
export const MAX_RECORDS = 20000;

export interface RequestHistory {
  items: RequestRecord[];
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

/**
 * The request history for a filter: the first page from `api/requests`, older pages on demand,
 * and new records from the live stream on top. After the stream reconnects, the first page is reloaded.
 */
export function useRequestHistory(filter: RequestFilter): RequestHistory {
  const client = useHistoryClient();
  const [items, setItems] = useState<RequestRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);
  const token = `${generation}|${filter.status}|${filter.model}|${filter.route}|${filter.replica}|${filter.q}|${filter.negative}|${filter.user}|${filter.tenant}|${filter.property}`;
  // The token of the last first-page load that finished, and its error if it failed.
  const [settled, setSettled] = useState<{ token: string; error: unknown } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const loading = settled?.token !== token;
  const error = settled?.error ?? moreError;
  const filterRef = useRef(filter);
  const moreController = useRef<AbortController | null>(null);
  const liveSinceFetch = useRef<RequestRecord[] | null>(null);

  useEffect(() => {
    filterRef.current = filter;
  }, [filter]);

  useEffect(() => {
    const controller = new AbortController();
    moreController.current?.abort();
    liveSinceFetch.current = [];
    client
      .requests({ limit: PAGE_SIZE, ...filter }, controller.signal)
      .then((page) => {
        if (controller.signal.aborted) return;
        const firstPage = page.items.map(requestFromWire);
        // Keep the live records that arrived while the page was loading.
        const arrived = (liveSinceFetch.current ?? []).filter((record) => matchesFilter(record, filter));
        liveSinceFetch.current = null;
        setItems(prependRecords(firstPage, arrived, MAX_RECORDS));
        setCursor(page.nextCursor);
        setMoreError(undefined);
        setSettled({ token, error: undefined });
      })
      .catch((reason: unknown) => {
        if (controller.signal.aborted) return;
        liveSinceFetch.current = null;
        setSettled({ token, error: reason });
      });
    return () => controller.abort();
    // `filter` is compared field by field so that an equal object does not refetch.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, token]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore || loading) return;
    const controller = new AbortController();
    moreController.current = controller;
    setLoadingMore(true);
    client
      .requests({ limit: PAGE_SIZE, before: cursor, ...filterRef.current }, controller.signal)
      .then((page) => {
        if (controller.signal.aborted) return;
        setItems((previous) => appendPage(previous, page.items.map(requestFromWire)).slice(0, MAX_RECORDS));
        setCursor(page.nextCursor);
        setLoadingMore(false);
      })
      .catch((reason: unknown) => {
        if (controller.signal.aborted) return;
        setMoreError(reason);
        setLoadingMore(false);
      });
  }, [client, cursor, loading, loadingMore]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);

  // Live records are batched per animation frame so a burst renders once.
  const pending = useRef<WireRequestRecord[]>([]);
  const frame = useRef<number | null>(null);
  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );
  const onRecord = useCallback((wire: WireRequestRecord) => {
    pending.current.push(wire);
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      const batch = pending.current.map(requestFromWire).filter((record) => matchesFilter(record, filterRef.current));
      pending.current = [];
      liveSinceFetch.current?.push(...batch);
      if (batch.length > 0) setItems((previous) => prependRecords(previous, batch, MAX_RECORDS));
    });
  }, []);
  useLiveStream({ onRecord, onReconnect: reload });

  return { items, loading, loadingMore, error, hasMore: cursor !== null, loadMore, reload };
}
