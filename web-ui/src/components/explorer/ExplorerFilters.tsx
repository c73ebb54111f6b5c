import { useNodes } from '../../hooks/queries';
import { ROW_LIMITS, type ExplorerFilter } from '../../domain/explorer-query';
import { formatCount } from '../../domain/format';
import { FilterInput } from './FilterInput';

/** Sets (or, with '', clears) URL params of the explorer. */
export type SetParams = (changes: Record<string, string>) => void;

/** The explorer's filter bar: every control reads and writes one URL param. */
export function ExplorerFilters({
  filter,
  live,
  problems,
  setParams,
}: {
  filter: ExplorerFilter;
  live: boolean;
  problems: string[];
  setParams: SetParams;
}) {
  const nodes = useNodes(live);
  const http = filter.kind === 'http';
  const edge = filter.client !== '' || filter.server !== '';
  const has = (word: string) => problems.some((p) => p.startsWith(word));
  return (
    <div className="explorer-filters panel" role="search" aria-label="Request filters">
      <div className="explorer-kind" role="tablist" aria-label="Events">
        {(['http', 'sql'] as const).map((kind) => (
          <button
            key={kind}
            type="button"
            role="tab"
            aria-selected={filter.kind === kind}
            data-testid={`kind-${kind}`}
            onClick={() =>
              setParams({
                kind: kind === 'http' ? '' : 'sql',
                // Fields that mean something else on the other tab do not travel.
                method: '',
                status: '',
                query: '',
                protocol: '',
                selected: '',
              })
            }
          >
            {kind === 'http' ? 'HTTP' : 'SQL (PostgreSQL, MySQL)'}
          </button>
        ))}
      </div>
      <FilterInput
        label="Service"
        value={filter.service}
        testId="filter-service"
        placeholder="process or process:port"
        onCommit={(service) => setParams({ service })}
      />
      <FilterInput
        label={http ? 'Method' : 'Command'}
        value={filter.method}
        testId="filter-method"
        placeholder={http ? 'GET' : 'Execute'}
        width={90}
        onCommit={(method) => setParams({ method })}
      />
      <FilterInput
        label={http ? 'Path contains' : 'Statement contains'}
        value={filter.path}
        testId="filter-path"
        placeholder={http ? '/api/' : 'orders'}
        onCommit={(path) => setParams({ path })}
      />
      <FilterInput
        label="Status"
        value={filter.status}
        testId="filter-status"
        placeholder={http ? '5xx, 404' : 'error or ok'}
        width={90}
        invalid={has('Status')}
        onCommit={(status) => setParams({ status })}
      />
      <FilterInput
        label="Min ms"
        value={filter.minMs}
        testId="filter-min-ms"
        width={70}
        invalid={has('Minimum')}
        onCommit={(value) => setParams({ min_ms: value })}
      />
      <FilterInput
        label="Max ms"
        value={filter.maxMs}
        testId="filter-max-ms"
        width={70}
        invalid={has('Maximum')}
        onCommit={(value) => setParams({ max_ms: value })}
      />
      <label className="filter-field">
        <span>Side</span>
        <select
          value={filter.role}
          data-testid="filter-role"
          onChange={(e) => setParams({ role: e.target.value === 'both' ? '' : e.target.value })}
        >
          <option value="both">both</option>
          <option value="server">server</option>
          <option value="client">client</option>
        </select>
      </label>
      <label className="filter-field">
        <span>Node</span>
        <select
          value={filter.node}
          data-testid="filter-node"
          onChange={(e) => setParams({ node: e.target.value })}
        >
          <option value="">all nodes</option>
          {(nodes.data ?? []).map((node) => (
            <option key={node.name} value={node.name}>
              {node.name}
              {node.state === 'down' ? ' (down)' : ''}
            </option>
          ))}
          {filter.node !== '' && !nodes.data?.some((n) => n.name === filter.node) && (
            <option value={filter.node}>{filter.node}</option>
          )}
        </select>
      </label>
      <label className="filter-field">
        <span>Rows</span>
        <select
          value={filter.limit}
          data-testid="filter-limit"
          onChange={(e) =>
            setParams({ limit: e.target.value === String(ROW_LIMITS[0]) ? '' : e.target.value })
          }
        >
          {ROW_LIMITS.map((limit) => (
            <option key={limit} value={limit}>
              newest {formatCount(limit)}
            </option>
          ))}
        </select>
      </label>
      {edge && (
        <div className="explorer-edge" data-testid="filter-edge">
          <span>
            {filter.protocol ? `${filter.protocol} ` : ''}
            {filter.client || 'any client'} → {filter.server || 'any server'}
          </span>
          <button
            type="button"
            aria-label="Remove the edge filter"
            onClick={() => setParams({ client: '', server: '' })}
          >
            ✕
          </button>
        </div>
      )}
      {filter.query !== '' && (
        <div className="explorer-edge" data-testid="filter-query">
          <span className="mono" title={filter.query}>
            statement: {filter.query}
          </span>
          <button
            type="button"
            aria-label="Remove the statement filter"
            onClick={() => setParams({ query: '' })}
          >
            ✕
          </button>
        </div>
      )}
      {problems.length > 0 && (
        <ul className="explorer-problems" role="alert">
          {problems.map((problem) => (
            <li key={problem}>{problem} This filter is not applied.</li>
          ))}
        </ul>
      )}
    </div>
  );
}
