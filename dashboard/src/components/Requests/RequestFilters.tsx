import { useId } from 'react';
import { emptyFilter, isFiltered } from '../../model/requestFilter';
import type { RequestFilter } from '../../types/domain';

export interface RequestFiltersProps {
  value: RequestFilter;
  onChange: (filter: RequestFilter) => void;
  models: string[];
  routes: string[];
  replicas: string[];
}

/** Status, model, route and replica filters, who the request was for (user, tenant, a property) and the request-id
 * search; each change is applied at once (typed ones once typing pauses). */
export function RequestFilters({ value, onChange, models, routes, replicas }: RequestFiltersProps) {
  const id = useId();
  const set = <K extends keyof RequestFilter>(key: K, next: RequestFilter[K]) => onChange({ ...value, [key]: next });
  const active = isFiltered(value);
  return (
    <form className="filters" role="search" aria-label="Filter requests" onSubmit={(event) => event.preventDefault()}>
      <div className="field field-search">
        <label htmlFor={`${id}-q`}>Request or trace id</label>
        <input
          id={`${id}-q`}
          type="search"
          placeholder="Search by id prefix…"
          autoComplete="off"
          spellCheck={false}
          value={value.q}
          onChange={(event) => set('q', event.target.value.trim())}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          value={value.status}
          onChange={(event) => set('status', event.target.value as RequestFilter['status'])}
        >
          <option value="">All</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-model`}>Model</label>
        <select id={`${id}-model`} value={value.model} onChange={(event) => set('model', event.target.value)}>
          <option value="">All</option>
          {withCurrent(models, value.model).map((model) => (
            <option key={model} value={model}>
              {model}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-route`}>Route</label>
        <select id={`${id}-route`} value={value.route} onChange={(event) => set('route', event.target.value)}>
          <option value="">All</option>
          {withCurrent(routes, value.route).map((route) => (
            <option key={route} value={route}>
              {route}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-replica`}>Replica</label>
        <select id={`${id}-replica`} value={value.replica} onChange={(event) => set('replica', event.target.value)}>
          <option value="">All</option>
          {withCurrent(replicas, value.replica).map((replica) => (
            <option key={replica} value={replica}>
              {replica}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-user`}>User</label>
        <input
          id={`${id}-user`}
          type="search"
          placeholder="User id"
          autoComplete="off"
          spellCheck={false}
          value={value.user}
          onChange={(event) => set('user', event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-tenant`}>Tenant</label>
        <input
          id={`${id}-tenant`}
          type="search"
          placeholder="Tenant id"
          autoComplete="off"
          spellCheck={false}
          value={value.tenant}
          onChange={(event) => set('tenant', event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-property`}>Property</label>
        <input
          id={`${id}-property`}
          type="search"
          placeholder="key or key:value"
          autoComplete="off"
          spellCheck={false}
          value={value.property}
          onChange={(event) => set('property', event.target.value)}
        />
      </div>
      <div className="field field-check">
        <label htmlFor={`${id}-negative`}>
          <input
            id={`${id}-negative`}
            type="checkbox"
            checked={value.negative}
            onChange={(event) => set('negative', event.target.checked)}
          />{' '}
          Negative feedback only
        </label>
      </div>
      {active ? (
        <button type="button" className="button button-ghost" onClick={() => onChange(emptyFilter)}>
          Clear filters
        </button>
      ) : null}
    </form>
  );
}

function withCurrent(options: string[], current: string): string[] {
  const all = current && !options.includes(current) ? [...options, current] : options;
  return [...all].sort();
}
