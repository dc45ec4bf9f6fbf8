import { render, screen, within } from '@testing-library/react';
import { VirtualList } from './VirtualList';

const items = Array.from({ length: 10000 }, (_, i) => `item-${i}`);

describe('VirtualList', () => {
  it('keeps only the rows near the viewport in the DOM, for ten thousand items', () => {
    render(
      <VirtualList
        items={items}
        getKey={(item) => item}
        rowHeight={40}
        expandedKey={null}
        expandedEstimate={200}
        overscan={5}
        label="Things"
        renderItem={(item) => <span>{item}</span>}
      />,
    );
    const list = screen.getByRole('list', { name: 'Things' });
    const rows = within(list).getAllByRole('listitem');
    // An 800 px viewport of 40 px rows, plus the overscan.
    expect(rows.length).toBeLessThanOrEqual(26);
    expect(rows[0]?.textContent).toBe('item-0');
    expect(list.style.height).toBe('400000px');
  });

  it('makes room for the expanded row', () => {
    render(
      <VirtualList
        items={items.slice(0, 10)}
        getKey={(item) => item}
        rowHeight={40}
        expandedKey="item-2"
        expandedEstimate={240}
        label="Things"
        renderItem={(item) => <span>{item}</span>}
      />,
    );
    const rows = within(screen.getByRole('list', { name: 'Things' })).getAllByRole('listitem');
    expect(rows[2]?.style.transform).toBe('translateY(80px)');
    expect(rows[3]?.style.transform).toBe('translateY(320px)');
  });
});
