/**
 * Geometry of a list whose rows all have one height except at most one expanded row, which is
 * `expandedHeight` tall. Offsets and the visible range are computed directly, without a scan.
 */
export interface WindowGeometry {
  count: number;
  rowHeight: number;
  expandedIndex: number;
  expandedHeight: number;
}

function extra(g: WindowGeometry): number {
  return g.expandedIndex >= 0 && g.expandedIndex < g.count ? Math.max(0, g.expandedHeight - g.rowHeight) : 0;
}

export function rowOffset(g: WindowGeometry, index: number): number {
  const base = index * g.rowHeight;
  return g.expandedIndex >= 0 && index > g.expandedIndex ? base + extra(g) : base;
}

export function totalHeight(g: WindowGeometry): number {
  return g.count * g.rowHeight + extra(g);
}

/** The index of the row at vertical position `y` (clamped to the list). */
export function indexAt(g: WindowGeometry, y: number): number {
  if (g.count === 0) return 0;
  const pos = Math.max(0, y);
  let index: number;
  if (g.expandedIndex >= 0 && g.expandedIndex < g.count) {
    const expandedTop = g.expandedIndex * g.rowHeight;
    const expandedBottom = expandedTop + g.rowHeight + extra(g);
    if (pos < expandedTop) index = Math.floor(pos / g.rowHeight);
    else if (pos < expandedBottom) index = g.expandedIndex;
    else index = Math.floor((pos - extra(g)) / g.rowHeight);
  } else {
    index = Math.floor(pos / g.rowHeight);
  }
  return Math.min(g.count - 1, index);
}

/** The rows to render for a viewport, with `overscan` rows either side. */
export function visibleRange(
  g: WindowGeometry,
  scrollTop: number,
  viewportHeight: number,
  overscan: number,
): { start: number; end: number } {
  if (g.count === 0) return { start: 0, end: -1 };
  const first = indexAt(g, scrollTop);
  const last = indexAt(g, scrollTop + viewportHeight);
  return { start: Math.max(0, first - overscan), end: Math.min(g.count - 1, last + overscan) };
}
