import { record } from '../test/fakes';
import { requestFromWire } from './fromWire';
import { emptyFilter, matchesFilter } from './requestFilter';

describe('matchesFilter', () => {
  it('keeps a live record of the chosen replica only', () => {
    const fromOne = requestFromWire(record({ id: 'a', replica: 'chat-1' }));
    const fromTwo = requestFromWire(record({ id: 'b', replica: 'chat-2' }));
    const unknown = requestFromWire(record({ id: 'c', replica: null }));

    expect(matchesFilter(fromOne, { ...emptyFilter, replica: 'chat-1' })).toBe(true);
    expect(matchesFilter(fromTwo, { ...emptyFilter, replica: 'chat-1' })).toBe(false);
    expect(matchesFilter(unknown, { ...emptyFilter, replica: 'chat-1' })).toBe(false);
    expect(matchesFilter(unknown, emptyFilter)).toBe(true);
  });
});
