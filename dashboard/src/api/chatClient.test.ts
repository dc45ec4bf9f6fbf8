import { streamChat } from './chatClient';
import { ProblemError } from './problemError';

function sseResponse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

describe('streamChat', () => {
  it('posts the message, reads the deltas as they come and ends with done', async () => {
    const fetchMock = vi.fn(async () =>
      sseResponse([
        'event: delta\ndata: {"text":"Hel"}\n\nevent: de',
        'lta\ndata: {"text":"lo"}\n\n',
        'event: done\ndata: {"conversationId":"c","requestId":"r","traceId":"t","model":"m","usage":{"inputTokens":1,"outputTokens":2,"cachedInputTokens":0,"reasoningTokens":0,"estimated":false},"costUsd":null}\n\n',
      ]),
    );
    const deltas: string[] = [];
    const onDone = vi.fn();
    const onError = vi.fn();
    await streamChat('/api/chat/stream', { message: 'hi', conversationId: 'c' }, { onDelta: (t) => deltas.push(t), onDone, onError }, undefined, fetchMock as unknown as typeof fetch);
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(onDone).toHaveBeenCalledWith(expect.objectContaining({ requestId: 'r', costUsd: null }));
    expect(onError).not.toHaveBeenCalled();
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/chat/stream');
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ message: 'hi', conversationId: 'c' });
    expect(new Headers(init.headers).get('accept')).toContain('application/problem+json');
  });

  it('reports an error event, and a failure before the stream as a ProblemError', async () => {
    const onError = vi.fn();
    await streamChat('/s', { message: 'x' }, { onDelta: () => {}, onDone: () => {}, onError }, undefined, (async () =>
      sseResponse(['event: delta\ndata: {"text":"a"}\n\nevent: error\ndata: {"title":"Timed out","errorType":"timeout"}\n\n'])) as unknown as typeof fetch);
    expect(onError).toHaveBeenCalledWith({ title: 'Timed out', errorType: 'timeout' });

    const failing = (async () =>
      new Response(JSON.stringify({ title: 'Rate limited', status: 429, errorType: 'rate_limited' }), {
        status: 429,
        headers: { 'Content-Type': 'application/problem+json' },
      })) as unknown as typeof fetch;
    const error = await streamChat('/s', { message: 'x' }, { onDelta: () => {}, onDone: () => {}, onError }, undefined, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemError);
    expect((error as ProblemError).problem?.errorType).toBe('rate_limited');
  });
});
