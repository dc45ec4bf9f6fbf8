import { EventStreamParser } from './eventStreamParser';
import { ProblemError, problemFromResponse } from './problemError';
import type { WireChatDone, WireProblem } from './wireTypes';

export interface ChatStreamHandlers {
  onDelta: (text: string) => void;
  onDone: (done: WireChatDone) => void;
  onError: (problem: WireProblem) => void;
}

export interface ChatRequestBody {
  message: string;
  conversationId?: string;
}

/**
 * POSTs a chat message to the host's streaming chat endpoint and reads the `text/event-stream`
 * answer incrementally: `delta` events carry pieces of the reply, then `done` or `error`.
 * A failure before the stream starts is thrown as a ProblemError.
 */
export async function streamChat(
  endpoint: string,
  body: ChatRequestBody,
  handlers: ChatStreamHandlers,
  signal?: AbortSignal,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Promise<void> {
  const response = await fetchImpl(endpoint, {
    method: 'POST',
    // problem+json too: a failure before the stream starts is answered as problem details.
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream, application/problem+json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) {
    throw await problemFromResponse(response);
  }
  if (!response.body) {
    throw new ProblemError(response.status, null, 'The chat endpoint returned no body.');
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser();
  let finished = false;
  const dispatch = (events: ReturnType<EventStreamParser['push']>) => {
    for (const event of events) {
      if (event.event === 'delta') {
        const { text } = JSON.parse(event.data) as { text?: string };
        if (text) handlers.onDelta(text);
      } else if (event.event === 'done') {
        finished = true;
        handlers.onDone(JSON.parse(event.data) as WireChatDone);
      } else if (event.event === 'error') {
        finished = true;
        handlers.onError(parseProblem(event.data));
      }
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    dispatch(parser.push(value));
  }
  dispatch(parser.end());
  if (!finished) {
    handlers.onError({ title: 'The answer was cut off', detail: 'The stream ended before the answer was complete.' });
  }
}

function parseProblem(data: string): WireProblem {
  try {
    return JSON.parse(data) as WireProblem;
  } catch {
    return { title: 'Error', detail: data };
  }
}
