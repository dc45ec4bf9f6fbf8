import { requestHref } from '../../hooks/useHashRoute';
import type { ChatMessage } from '../../hooks/useChatSession';
import { formatCost, formatCount } from '../../model/format';
import { FeedbackButtons } from './FeedbackButtons';
import { SafeMarkdown } from './SafeMarkdown';

export function ChatMessageView({ message }: { message: ChatMessage }) {
  if (message.role === 'user') {
    return (
      <li className="msg msg-user">
        <div className="msg-bubble" aria-label="You said">
          <p className="msg-plain">{message.text}</p>
        </div>
      </li>
    );
  }
  const { done, problem } = message;
  return (
    <li className="msg msg-assistant">
      <div className="msg-avatar" aria-hidden="true">
        AI
      </div>
      <div className="msg-body">
        <div
          className={`msg-bubble ${message.state === 'error' ? 'msg-failed' : ''}`}
          aria-busy={message.state === 'streaming'}
          data-testid="assistant-message"
        >
          {message.text ? <SafeMarkdown text={message.text} /> : null}
          {message.state === 'streaming' ? (
            message.text ? (
              <span className="caret" aria-hidden="true" />
            ) : (
              <span className="typing" role="status" aria-label="The assistant is answering">
                <span />
                <span />
                <span />
              </span>
            )
          ) : null}
          {message.state === 'error' && problem ? (
            <div className="msg-error" role="alert">
              <strong>{problem.title ?? 'The answer failed'}</strong>
              {problem.detail && problem.detail !== problem.title ? <span> — {problem.detail}</span> : null}
              {typeof problem.errorType === 'string' ? <span className="badge badge-error">{problem.errorType}</span> : null}
            </div>
          ) : null}
          {message.state === 'stopped' ? <p className="muted small">Stopped.</p> : null}
        </div>
        {done ? (
          <p className="msg-meta">
            <span className="mono">{done.model}</span>
            <span>
              {formatCount(done.usage.inputTokens)} in · {formatCount(done.usage.outputTokens)} out tokens
              {done.usage.estimated ? ' (estimated)' : ''}
            </span>
            <span>{formatCost(done.costUsd)}</span>
            <a className="link" href={requestHref(done.requestId)}>
              View request
            </a>
            <FeedbackButtons requestId={done.requestId} />
          </p>
        ) : problem?.requestId ? (
          <p className="msg-meta">
            <a className="link" href={requestHref(problem.requestId)}>
              View request
            </a>
          </p>
        ) : null}
      </div>
    </li>
  );
}
