export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Incremental parser for a `text/event-stream` body (the WHATWG event stream format):
 * feed it decoded text as it arrives and it returns each complete event.
 */
export class EventStreamParser {
  private buffer = '';
  private eventName = '';
  private dataLines: string[] = [];
  private lastId: string | null = null;

  push(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone '\r' at the end of the buffer may be the first half of '\r\n': wait for more.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Call at the end of the body: a final event without its blank line is still dispatched. */
  end(): ServerSentEvent[] {
    const events = this.buffer.length > 0 ? this.push('\n') : [];
    const last = this.line('');
    return last ? [...events, last] : events;
  }

  private line(line: string): ServerSentEvent | null {
    if (line === '') {
      if (this.dataLines.length === 0) {
        this.eventName = '';
        return null;
      }
      const event: ServerSentEvent = {
        event: this.eventName || 'message',
        data: this.dataLines.join('\n'),
        id: this.lastId,
      };
      this.eventName = '';
      this.dataLines = [];
      return event;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        this.lastId = value;
        break;
      default:
        break;
    }
    return null;
  }
}
