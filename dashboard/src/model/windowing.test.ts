import { indexAt, rowOffset, totalHeight, visibleRange, type WindowGeometry } from './windowing';

const flat: WindowGeometry = { count: 10000, rowHeight: 40, expandedIndex: -1, expandedHeight: 0 };
const expanded: WindowGeometry = { ...flat, expandedIndex: 5, expandedHeight: 440 };

describe('windowing', () => {
  it('renders only the rows in view of ten thousand', () => {
    expect(totalHeight(flat)).toBe(400000);
    expect(visibleRange(flat, 200000, 800, 5)).toEqual({ start: 4995, end: 5025 });
  });

  it('pushes the rows after the expanded one down by its extra height', () => {
    expect(totalHeight(expanded)).toBe(400400);
    expect(rowOffset(expanded, 5)).toBe(200);
    expect(rowOffset(expanded, 6)).toBe(640);
    expect(indexAt(expanded, 630)).toBe(5);
    expect(indexAt(expanded, 640)).toBe(6);
    expect(indexAt(expanded, 10_000_000)).toBe(9999);
  });
});
