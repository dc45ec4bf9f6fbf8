import { EventStreamParser } from './eventStreamParser';

describe('EventStreamParser', () => {
  it('assembles events split across chunks, ignoring comments', () => {
    const parser = new EventStreamParser();
    expect(parser.push(': keep-alive\n\nevent: del')).toEqual([]);
    expect(parser.push('ta\ndata: {"text":"Hel"}\n')).toEqual([]);
    expect(parser.push('\nevent: delta\r\ndata: {"text":"lo"}\r\n\r\n')).toEqual([
      { event: 'delta', data: '{"text":"Hel"}', id: null },
      { event: 'delta', data: '{"text":"lo"}', id: null },
    ]);
  });

  it('joins multi-line data and dispatches a last event without its blank line at the end', () => {
    const parser = new EventStreamParser();
    expect(parser.push('id: 7\ndata: a\ndata: b\n\ndata: tail')).toEqual([{ event: 'message', data: 'a\nb', id: '7' }]);
    expect(parser.end()).toEqual([{ event: 'message', data: 'tail', id: '7' }]);
  });
});
