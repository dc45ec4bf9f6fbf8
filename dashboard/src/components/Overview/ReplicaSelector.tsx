import { useId } from 'react';
import type { WireReplica } from '../../api/wireTypes';
import { requestsHref } from '../../hooks/useHashRoute';

export interface ReplicaSelectorProps {
  /** The replicas that served requests (api/replicas), in any order. */
  replicas: readonly WireReplica[];
  /** The selected replica, or '' for every replica. */
  value: string;
  onChange: (replica: string) => void;
}

/**
 * The Overview's replica filter. With a single replica known there is nothing to choose: the select stays visible
 * (it says which replica serves) but disabled, unless a replica is selected, which can always be cleared.
 */
export function ReplicaSelector({ replicas, value, onChange }: ReplicaSelectorProps) {
  const id = useId();
  const names = [...new Set(replicas.map((r) => r.replica))].sort((a, b) => a.localeCompare(b));
  // A replica in the URL that served nothing lately stays selectable, so the select shows what the page shows.
  if (value && !names.includes(value)) names.push(value);
  const single = names.length <= 1 && !value;
  return (
    <div className="field replica-selector">
      <label htmlFor={id}>Replica</label>
      <select
        id={id}
        value={value}
        disabled={single}
        title={single ? 'Only one replica served requests in the last 24 hours.' : undefined}
        onChange={(event) => onChange(event.target.value)}
      >
        <option value="">All replicas</option>
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      {value ? (
        <a className="link" href={requestsHref({ replica: value })}>
          Its requests
        </a>
      ) : null}
    </div>
  );
}
