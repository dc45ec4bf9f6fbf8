import { useState } from 'react';
import { useHistoryClient } from '../../hooks/services';

type Sent = 'up' | 'down';

/** Thumbs up and down under an answer: a `user_feedback` score on the answer's request. */
export function FeedbackButtons({ requestId }: { requestId: string }) {
  const client = useHistoryClient();
  const [sent, setSent] = useState<Sent | null>(null);
  const [sending, setSending] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);

  const send = (verdict: Sent) => {
    if (sending || sent) return;
    setSending(true);
    setFailed(null);
    client
      .addScore(requestId, { name: 'user_feedback', boolean: verdict === 'up', source: 'dashboard' })
      .then(() => setSent(verdict))
      .catch((reason: unknown) => setFailed(reason instanceof Error ? reason.message : 'The feedback was not saved.'))
      .finally(() => setSending(false));
  };

  return (
    <span className="feedback" role="group" aria-label="Was this answer good?">
      <button
        type="button"
        className={`button button-ghost feedback-button ${sent === 'up' ? 'feedback-chosen' : ''}`}
        aria-label="Good answer"
        aria-pressed={sent === 'up'}
        disabled={sending || sent !== null}
        onClick={() => send('up')}
      >
        👍
      </button>
      <button
        type="button"
        className={`button button-ghost feedback-button ${sent === 'down' ? 'feedback-chosen' : ''}`}
        aria-label="Bad answer"
        aria-pressed={sent === 'down'}
        disabled={sending || sent !== null}
        onClick={() => send('down')}
      >
        👎
      </button>
      {sent ? <span className="muted small" role="status">Thanks for the feedback.</span> : null}
      {failed ? (
        <span className="small error-message" role="alert">
          {failed}
        </span>
      ) : null}
    </span>
  );
}
