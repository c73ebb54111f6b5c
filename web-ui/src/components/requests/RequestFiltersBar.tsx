import { useDraft } from '../../hooks/useDraft';
import {
  LIMITS,
  statusFilterValid,
  type RequestFilters,
  type RoleFilter,
} from '../../domain/request-filters';

/**
 * The explorer's filters. Text fields apply as the user types (after a short pause), so the URL and the table
 * follow without a submit button; each has a test id for the browser tests.
 */
export function RequestFiltersBar({
  filters,
  onChange,
}: {
  filters: RequestFilters;
  onChange: (next: RequestFilters) => void;
}) {
  const [draft, setDraft] = useDraft(filters, onChange);

  const text = (
    key: 'service' | 'method' | 'text' | 'status',
    label: string,
    placeholder: string,
    id: string,
  ) => (
    <label className="rq-filter">
      {label}
      <input
        data-testid={id}
        value={draft[key]}
        placeholder={placeholder}
        aria-invalid={key === 'status' && !statusFilterValid(draft.kind, draft.status)}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      />
    </label>
  );
  const ms = (key: 'minMs' | 'maxMs', label: string, id: string) => (
    <label className="rq-filter narrow">
      {label}
      <input
        data-testid={id}
        inputMode="decimal"
        value={draft[key] ?? ''}
        placeholder="ms"
        onChange={(e) => {
          const value = e.target.value.trim() === '' ? null : Number(e.target.value);
          if (value === null || (Number.isFinite(value) && value >= 0)) setDraft({ ...draft, [key]: value });
        }}
      />
    </label>
  );

  return (
    <form className="rq-filters panel" role="search" onSubmit={(e) => (e.preventDefault(), onChange(draft))}>
      <div className="rq-kind" role="group" aria-label="What to list">
        {(['http', 'sql'] as const).map((kind) => (
          <button
            key={kind}
            type="button"
            aria-pressed={draft.kind === kind}
            onClick={() => onChange({ ...draft, kind, method: '', status: '' })}
          >
            {kind === 'http' ? 'HTTP' : 'SQL'}
          </button>
        ))}
      </div>
      {text('service', 'Service', 'process or process:port', 'filter-service')}
      {draft.kind === 'http' && text('method', 'Method', 'GET', 'filter-method')}
      {text('text', draft.kind === 'http' ? 'Path contains' : 'Statement contains', '/api', 'filter-path')}
      {text('status', 'Status', draft.kind === 'http' ? '500, 5xx, error' : 'error', 'filter-status')}
      {ms('minMs', 'Latency ≥', 'filter-min-ms')}
      {ms('maxMs', '≤', 'filter-max-ms')}
      <label className="rq-filter narrow">
        Side
        <select
          value={draft.role}
          onChange={(e) => onChange({ ...draft, role: e.target.value as RoleFilter })}
          data-testid="filter-role"
        >
          <option value="server">server</option>
          <option value="client">client</option>
          <option value="both">both</option>
        </select>
      </label>
      <label className="rq-filter narrow">
        Rows
        <select
          value={draft.limit}
          onChange={(e) => onChange({ ...draft, limit: Number(e.target.value) })}
          data-testid="filter-limit"
        >
          {LIMITS.map((n) => (
            <option key={n} value={n}>
              {n.toLocaleString('en')}
            </option>
          ))}
        </select>
      </label>
      {(draft.client || draft.server) && (
        <span className="rq-edge" data-testid="filter-edge">
          {draft.client || '*'} → {draft.server || '*'}
          <button
            type="button"
            aria-label="Remove the edge filter"
            onClick={() => onChange({ ...draft, client: '', server: '', role: 'server' })}
          >
            ×
          </button>
        </span>
      )}
      {draft.node && (
        <span className="rq-edge">
          node {draft.node}
          <button
            type="button"
            aria-label="Remove the node filter"
            onClick={() => onChange({ ...draft, node: '' })}
          >
            ×
          </button>
        </span>
      )}
    </form>
  );
}
