import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { WireInfo } from '../../api/wireTypes';
import { useChatSession } from '../../hooks/useChatSession';
import type { Resource } from '../../hooks/useResource';
import { EmptyState, ErrorState, LoadingState } from '../Common/StateViews';
import { ChatMessageView } from './ChatMessageView';

const suggestions = ['What does LLM-APM measure?', 'Explain p95 latency in one paragraph.', 'Give me three tips to cut token costs.'];

export function ChatPage({ info }: { info: Resource<WireInfo> }) {
  if (info.error && !info.data) {
    return (
      <div className="page">
        <ErrorState title="The service cannot be reached" error={info.error} onRetry={info.reload} />
      </div>
    );
  }
  if (!info.data) {
    return (
      <div className="page">
        <LoadingState />
      </div>
    );
  }
  if (!info.data.chat?.streamEndpoint) {
    return (
      <div className="page">
        <EmptyState title="This host has no chat endpoint">
          {info.data.serviceName} announces no streaming chat endpoint (LlmApm:Dashboard:ChatStreamEndpoint, which must
          speak LLM-APM&apos;s chat protocol). The Overview and Requests pages still show every LLM request it makes.
        </EmptyState>
      </div>
    );
  }
  return <Conversation />;
}

function Conversation() {
  const { messages, busy, send, stop, reset } = useChatSession();
  const [draft, setDraft] = useState('');
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const inputRef = useRef<HTMLTextAreaElement | null>(null);
  const lastText = messages[messages.length - 1]?.text ?? '';

  useEffect(() => {
    const element = scrollRef.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [messages.length, lastText]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (busy || draft.trim() === '') return;
    send(draft);
    setDraft('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <div className="page page-fill chat">
      <header className="page-header">
        <div>
          <h1>Chat</h1>
          <p className="page-subtitle">Every answer is traced: follow its link to see the request’s steps, tokens and cost.</p>
        </div>
        <button
          type="button"
          className="button button-ghost"
          onClick={() => {
            reset();
            inputRef.current?.focus();
          }}
          disabled={messages.length === 0}
        >
          New conversation
        </button>
      </header>
      <div className="chat-scroll" ref={scrollRef}>
        {messages.length === 0 ? (
          <div className="chat-empty">
            <p className="state-title">Start a conversation</p>
            <p className="muted">Ask anything; the answer streams in as it is generated.</p>
            <div className="chat-suggestions">
              {suggestions.map((text) => (
                <button key={text} type="button" className="chip" onClick={() => send(text)}>
                  {text}
                </button>
              ))}
            </div>
          </div>
        ) : (
          <ol className="chat-log" aria-label="Conversation" aria-live="polite">
            {messages.map((message) => (
              <ChatMessageView key={message.id} message={message} />
            ))}
          </ol>
        )}
      </div>
      <form className="composer" onSubmit={submit}>
        <label htmlFor="chat-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="chat-input"
          ref={inputRef}
          rows={1}
          placeholder="Send a message…"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
          autoFocus
        />
        {busy ? (
          <button type="button" className="button" onClick={stop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="button button-primary" disabled={draft.trim() === ''}>
            Send
          </button>
        )}
      </form>
    </div>
  );
}
