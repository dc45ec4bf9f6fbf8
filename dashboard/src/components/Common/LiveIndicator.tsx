import type { LiveStatus } from '../../api/liveStream';
import { useLiveStatus } from '../../hooks/services';

const labels: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

export function LiveIndicator() {
  const status = useLiveStatus();
  return (
    <span className={`live live-${status}`} role="status" aria-live="polite" title="Live updates from api/stream">
      <span className="live-dot" aria-hidden="true" />
      {labels[status]}
    </span>
  );
}
