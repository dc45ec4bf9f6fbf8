import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { streamChat } from '../api/chatClient';
import { ProblemError } from '../api/problemError';
import type { WireChatDone, WireProblem } from '../api/wireTypes';

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  state: 'streaming' | 'done' | 'error' | 'stopped';
  done?: WireChatDone;
  problem?: WireProblem;
}

export interface ChatSession {
  messages: ChatMessage[];
  conversationId: string | null;
  busy: boolean;
  send: (message: string) => void;
  stop: () => void;
  reset: () => void;
}

type StreamChat = typeof streamChat;

const ChatContext = createContext<ChatSession | null>(null);

/** Holds the conversation above the pages, so it survives a visit to another page. */
export function ChatSessionProvider({
  endpoint,
  stream = streamChat,
  children,
}: {
  endpoint: string | null;
  stream?: StreamChat;
  children: ReactNode;
}) {
  const session = useChatState(endpoint, stream);
  return <ChatContext.Provider value={session}>{children}</ChatContext.Provider>;
}

export function useChatSession(): ChatSession {
  const session = useContext(ChatContext);
  if (!session) throw new Error('ChatSessionProvider is missing');
  return session;
}

function useChatState(endpoint: string | null, stream: StreamChat): ChatSession {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nextId = useRef(1);
  const controller = useRef<AbortController | null>(null);
  const conversationRef = useRef<string | null>(null);

  useEffect(() => () => controller.current?.abort(), []);

  const update = useCallback((id: number, change: (message: ChatMessage) => ChatMessage) => {
    setMessages((list) => list.map((message) => (message.id === id ? change(message) : message)));
  }, []);

  const send = useCallback(
    (text: string) => {
      const message = text.trim();
      if (!endpoint || message === '' || controller.current) return;
      const userId = nextId.current++;
      const answerId = nextId.current++;
      setMessages((list) => [
        ...list,
        { id: userId, role: 'user', text: message, state: 'done' },
        { id: answerId, role: 'assistant', text: '', state: 'streaming' },
      ]);
      setBusy(true);
      const abort = new AbortController();
      controller.current = abort;
      const body = conversationRef.current ? { message, conversationId: conversationRef.current } : { message };
      stream(
        endpoint,
        body,
        {
          onDelta: (delta) => update(answerId, (m) => ({ ...m, text: m.text + delta })),
          onDone: (done) => {
            conversationRef.current = done.conversationId;
            setConversationId(done.conversationId);
            update(answerId, (m) => ({ ...m, state: 'done', done }));
          },
          onError: (problem) => update(answerId, (m) => ({ ...m, state: 'error', problem })),
        },
        abort.signal,
      )
        .catch((error: unknown) => {
          if (abort.signal.aborted) {
            update(answerId, (m) => ({ ...m, state: 'stopped' }));
            return;
          }
          const problem: WireProblem =
            error instanceof ProblemError
              ? { ...(error.problem ?? {}), status: error.status, detail: error.message }
              : { title: 'The chat endpoint cannot be reached', detail: error instanceof Error ? error.message : String(error) };
          update(answerId, (m) => ({ ...m, state: 'error', problem }));
        })
        .finally(() => {
          if (controller.current === abort) controller.current = null;
          setBusy(false);
        });
    },
    [endpoint, stream, update],
  );

  const stop = useCallback(() => controller.current?.abort(), []);

  const reset = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    conversationRef.current = null;
    setConversationId(null);
    setMessages([]);
    setBusy(false);
  }, []);

  return { messages, conversationId, busy, send, stop, reset };
}
