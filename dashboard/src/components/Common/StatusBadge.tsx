import type { RequestStatus } from '../../types/domain';

export function StatusBadge({ status, errorType }: { status: RequestStatus; errorType?: string | null }) {
  if (status === 'ok') {
    return <span className="badge badge-ok">ok</span>;
  }
  return <span className="badge badge-error">{errorType ?? 'error'}</span>;
}
