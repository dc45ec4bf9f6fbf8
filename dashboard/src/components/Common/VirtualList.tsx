import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { rowOffset, totalHeight, visibleRange, type WindowGeometry } from '../../model/windowing';

export interface VirtualListProps<T> {
  items: readonly T[];
  getKey: (item: T) => string;
  rowHeight: number;
  /** The key of the one expanded row, measured as it renders; null when none is. */
  expandedKey: string | null;
  /** Height assumed for the expanded row until it is measured. */
  expandedEstimate: number;
  overscan?: number;
  label: string;
  renderItem: (item: T, index: number) => ReactNode;
  /** Told the last rendered index, so the caller can fetch more before the end. */
  onRangeEnd?: (lastIndex: number) => void;
  footer?: ReactNode;
  className?: string;
}

/**
 * A windowed list: only the rows in (or near) the viewport are in the DOM, so ten thousand records
 * scroll as smoothly as ten. Rows are one height; the expanded row's height is measured.
 */
export function VirtualList<T>({
  items,
  getKey,
  rowHeight,
  expandedKey,
  expandedEstimate,
  overscan = 8,
  label,
  renderItem,
  onRangeEnd,
  footer,
  className,
}: VirtualListProps<T>) {
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);
  const [measured, setMeasured] = useState<{ key: string; height: number } | null>(null);
  const frame = useRef<number | null>(null);

  useEffect(() => {
    const element = scrollRef.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (element.clientHeight > 0) setViewport(element.clientHeight);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  const onScroll = useCallback(() => {
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      if (scrollRef.current) setScrollTop(scrollRef.current.scrollTop);
    });
  }, []);

  // Keeps the rows in view still when new items arrive on top while the list is scrolled down.
  const firstKey = useRef<string | null>(null);
  useLayoutEffect(() => {
    const first = items[0];
    const previous = firstKey.current;
    firstKey.current = first === undefined ? null : getKey(first);
    const element = scrollRef.current;
    if (!element || previous === null || element.scrollTop <= 0) return;
    const shift = items.findIndex((item) => getKey(item) === previous);
    if (shift > 0) {
      element.scrollTop += shift * rowHeight;
      setScrollTop(element.scrollTop);
    }
  }, [items, getKey, rowHeight]);

  const expandedIndex = expandedKey === null ? -1 : items.findIndex((item) => getKey(item) === expandedKey);
  const geometry: WindowGeometry = {
    count: items.length,
    rowHeight,
    expandedIndex,
    expandedHeight: measured && measured.key === expandedKey ? measured.height : expandedEstimate,
  };
  const { start, end } = visibleRange(geometry, scrollTop, viewport, overscan);

  useEffect(() => {
    if (end >= 0) onRangeEnd?.(end);
  }, [end, onRangeEnd]);

  // Measures the expanded row whenever its content changes size.
  const observer = useRef<ResizeObserver | null>(null);
  const measureExpanded = useCallback(
    (element: HTMLLIElement | null) => {
      observer.current?.disconnect();
      observer.current = null;
      if (!element || expandedKey === null || typeof ResizeObserver === 'undefined') return;
      const key = expandedKey;
      observer.current = new ResizeObserver(() => {
        const height = element.offsetHeight;
        if (height > 0) setMeasured((previous) => (previous?.key === key && previous.height === height ? previous : { key, height }));
      });
      observer.current.observe(element);
    },
    [expandedKey],
  );

  const rows: ReactNode[] = [];
  for (let index = start; index <= end; index++) {
    const item = items[index];
    if (item === undefined) continue;
    const key = getKey(item);
    rows.push(
      <li
        key={key}
        ref={key === expandedKey ? measureExpanded : undefined}
        className="virtual-row"
        style={{ transform: `translateY(${rowOffset(geometry, index)}px)`, minHeight: rowHeight }}
      >
        {renderItem(item, index)}
      </li>,
    );
  }

  return (
    <div className={`virtual-scroll ${className ?? ''}`} ref={scrollRef} onScroll={onScroll}>
      <ul className="virtual-list" aria-label={label} style={{ height: totalHeight(geometry) }}>
        {rows}
      </ul>
      {footer}
    </div>
  );
}
