import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ChatStreamHandlers } from '../../api/chatClient';
import type { WireChatDone, WireInfo } from '../../api/wireTypes';
import { ChatSessionProvider } from '../../hooks/useChatSession';
import type { Resource } from '../../hooks/useResource';
import { jsonResponse } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { ChatPage } from './ChatPage';

const info: WireInfo = {
  serviceName: 'ChatService',
  serviceVersion: '1.0.0',
  sdkVersion: '0.1.0',
  contentCapture: false,
  historyCapacity: 1000,
  chat: { endpoint: '/api/chat', streamEndpoint: '/api/chat/stream' },
};

function resource(data: WireInfo): Resource<WireInfo> {
  return { data, error: undefined, loading: false, reload: () => {} };
}

const done: WireChatDone = {
  conversationId: 'conv-1',
  requestId: 'req-1',
  traceId: 'trace-1',
  model: 'gpt-4o-mini',
  usage: { inputTokens: 12, outputTokens: 5, cachedInputTokens: 0, reasoningTokens: 0, estimated: false },
  costUsd: 0.0000048,
};

/** A chat stream the test drives by hand. */
function controllableStream() {
  const calls: { endpoint: string; body: { message: string; conversationId?: string }; handlers: ChatStreamHandlers; finish: () => void }[] = [];
  const stream = vi.fn(
    (endpoint: string, body: { message: string; conversationId?: string }, handlers: ChatStreamHandlers) =>
      new Promise<void>((resolve) => {
        calls.push({ endpoint, body, handlers, finish: resolve });
      }),
  );
  return { stream, calls };
}

function renderChat(
  stream: ReturnType<typeof controllableStream>['stream'],
  fetchImpl: typeof fetch = vi.fn(() => Promise.resolve(jsonResponse({}))),
) {
  return renderWithServices(
    <ChatSessionProvider endpoint="/api/chat/stream" stream={stream}>
      <ChatPage info={resource(info)} />
    </ChatSessionProvider>,
    fetchImpl,
  );
}

describe('ChatPage', () => {
  it('sends a thumbs down on an answer as a user_feedback score of its request', async () => {
    const user = userEvent.setup();
    const { stream, calls } = controllableStream();
    const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
      void input;
      void init;
      return Promise.resolve(jsonResponse({ name: 'user_feedback' }, 201));
    });
    renderChat(stream, fetchMock as unknown as typeof fetch);

    await user.type(screen.getByLabelText('Message'), 'Hello{Enter}');
    act(() => {
      calls[0]!.handlers.onDelta('Hi.');
      calls[0]!.handlers.onDone(done);
      calls[0]!.finish();
    });
    await user.click(await screen.findByRole('button', { name: 'Bad answer' }));

    expect(await screen.findByText('Thanks for the feedback.')).toBeTruthy();
    const scorePosts = calledPaths(fetchMock).filter((path) => path.startsWith('requests/'));
    expect(scorePosts).toEqual(['requests/req-1/scores']);
    const init = fetchMock.mock.calls.find(([input]) => String(input).endsWith('/scores'))![1]!;
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ name: 'user_feedback', boolean: false, source: 'dashboard' });
    expect((screen.getByRole('button', { name: 'Good answer' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('streams the answer piece by piece and keeps the conversation id for the follow-up', async () => {
    const user = userEvent.setup();
    const { stream, calls } = controllableStream();
    renderChat(stream);

    await user.type(screen.getByLabelText('Message'), 'Hello there{Enter}');
    expect(calls[0]?.endpoint).toBe('/api/chat/stream');
    expect(calls[0]?.body).toEqual({ message: 'Hello there' });
    const log = screen.getByRole('list', { name: 'Conversation' });
    expect(within(log).getByText('Hello there')).toBeTruthy();

    act(() => calls[0]?.handlers.onDelta('Hi, '));
    expect(screen.getByTestId('assistant-message').textContent).toBe('Hi, ');
    act(() => calls[0]?.handlers.onDelta('how can I help?'));
    expect(screen.getByTestId('assistant-message').textContent).toBe('Hi, how can I help?');

    act(() => {
      calls[0]?.handlers.onDone(done);
      calls[0]?.finish();
    });
    const link = await screen.findByRole('link', { name: 'View request' });
    expect(link.getAttribute('href')).toBe('#/requests/req-1');
    expect(screen.getByText(/12 in · 5 out tokens/)).toBeTruthy();
    expect(screen.getByText('$0.000005')).toBeTruthy();

    await user.type(screen.getByLabelText('Message'), 'And more?{Enter}');
    expect(calls[1]?.body).toEqual({ message: 'And more?', conversationId: 'conv-1' });
  });

  it('renders an XSS reply as inert text', async () => {
    const user = userEvent.setup();
    const { stream, calls } = controllableStream();
    const { container } = renderChat(stream);
    await user.type(screen.getByLabelText('Message'), 'x{Enter}');
    const payload = '<img src=x onerror=alert(1)> [x](javascript:alert(1))';
    act(() => {
      calls[0]?.handlers.onDelta(payload);
      calls[0]?.handlers.onDone(done);
      calls[0]?.finish();
    });
    const answer = screen.getByTestId('assistant-message');
    await waitFor(() => expect(answer.getAttribute('aria-busy')).toBe('false'));
    expect(answer.textContent).toBe(payload);
    expect(container.querySelector('img')).toBeNull();
    expect([...container.querySelectorAll('a')].some((a) => a.getAttribute('href')?.startsWith('javascript'))).toBe(false);
  });

  it('shows a failed answer with its error type', async () => {
    const user = userEvent.setup();
    const { stream, calls } = controllableStream();
    renderChat(stream);
    await user.type(screen.getByLabelText('Message'), '/fault rate_limited{Enter}');
    act(() => {
      calls[0]?.handlers.onError({ title: 'Rate limit reached', status: 429, errorType: 'rate_limited', requestId: 'req-9' });
      calls[0]?.finish();
    });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Rate limit reached');
    expect(alert.textContent).toContain('rate_limited');
  });

  it('says so when the host has no chat endpoint', () => {
    render(
      <ChatSessionProvider endpoint={null}>
        <ChatPage info={resource({ ...info, chat: null })} />
      </ChatSessionProvider>,
    );
    expect(screen.getByText('This host has no chat endpoint')).toBeTruthy();
    expect(screen.queryByLabelText('Message')).toBeNull();
  });
});
