import { useCallback, useMemo } from 'react';
import { useDraft } from '../hooks/useDraft';
import type { Row } from '../api/types';
import { DataTable, type DataColumn } from '../components/DataTable';
import { NodeAnswers } from '../components/NodeAnswers';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { formatCount, formatMs, formatPercent, formatTime } from '../domain/format';
import { statementExamplesSql, statementsSql, type StatementFilters } from '../domain/sql-statements';
import { navigate } from '../domain/url-state';
import { useQueryAnswer } from '../hooks/queries';
import '../components/requests/requests.css';
import type { ViewProps } from './view-props';

const COLUMNS: DataColumn[] = [
  { key: 'server', label: 'Server', width: 170 },
  { key: 'protocol', label: 'Protocol', width: 80 },
  { key: 'statement', label: 'Statement' },
  { key: 'calls', label: 'Calls', width: 80, align: 'right', format: (v) => formatCount(v) },
  {
    key: 'error_rate',
    label: 'Errors',
    width: 80,
    align: 'right',
    format: (v) => <span className={Number(v) > 0 ? 'status-error' : ''}>{formatPercent(v)}</span>,
  },
  { key: 'p50_ms', label: 'p50', width: 90, align: 'right', format: (v) => formatMs(v) },
  { key: 'p99_ms', label: 'p99', width: 90, align: 'right', format: (v) => formatMs(v) },
  { key: 'total_ms', label: 'Total time', width: 100, align: 'right', format: (v) => formatMs(v) },
];

const EXAMPLE_COLUMNS: DataColumn[] = [
  { key: 'time', label: 'Time (UTC)', width: 190, format: (v) => formatTime(v) },
  { key: 'process', label: 'Process', width: 110 },
  { key: 'role', label: 'Side', width: 60 },
  { key: 'req', label: 'Statement as sent' },
  { key: 'req_params', label: 'Parameters', width: 160 },
  {
    key: 'error',
    label: 'Error',
    width: 200,
    format: (v) => (v ? <span className="status-error">{String(v)}</span> : ''),
  },
  { key: 'latency_ms', label: 'Latency', width: 90, align: 'right', format: (v) => formatMs(v) },
];

const keyOf = (row: Row) => `${String(row.protocol)}|${String(row.server)}|${String(row.statement)}`;

/** SQL statements grouped by shape per database server: what the databases spend their time on. */
export function SqlView({ state, push, replace }: ViewProps) {
  const filters: StatementFilters = { server: state.params.server ?? '', text: state.params.text ?? '' };
  const commit = useCallback(
    (next: StatementFilters) =>
      replace({
        ...state,
        params: {
          ...(next.server ? { server: next.server } : {}),
          ...(next.text ? { text: next.text } : {}),
        },
      }),
    [state, replace],
  );
  const [draft, setDraft] = useDraft(filters, commit);

  const request = useMemo(
    () => ({ sql: statementsSql({ server: filters.server, text: filters.text }, state.range) }),
    [filters.server, filters.text, state.range],
  );
  const answer = useQueryAnswer(request, state.live, 'sql-statements');
  const selected = state.params.selected ?? null;
  const selectedRow = answer.data?.rows.find((row) => keyOf(row) === selected) ?? null;
  const examplesSql = selectedRow
    ? statementExamplesSql(String(selectedRow.protocol), String(selectedRow.statement), state.range)
    : null;
  const examples = useQueryAnswer(examplesSql ? { sql: examplesSql } : null, false, 'sql-examples');

  let body;
  if (answer.error && !answer.data)
    body = <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />;
  else if (!answer.data) body = <Loading what="SQL statements" />;
  else if (answer.data.rows.length === 0)
    body = (
      <Empty
        title="No SQL statements in this range"
        hint="Loupe sees PostgreSQL and MySQL traffic on any port, including connections opened before it started. Widen the time range or clear the filters."
      />
    );
  else
    body = (
      <DataTable
        testId="sql-table"
        columns={COLUMNS}
        rows={answer.data.rows}
        getRowKey={keyOf}
        selectedKey={selected}
        onSelect={(row) => push({ ...state, params: { ...state.params, selected: keyOf(row) } })}
        height={selectedRow ? 320 : undefined}
      />
    );

  return (
    <section className="view rq-view" aria-label="SQL statements">
      <form className="rq-filters panel" role="search" onSubmit={(e) => e.preventDefault()}>
        <label className="rq-filter">
          Server contains
          <input
            value={draft.server}
            placeholder="postgres"
            onChange={(e) => setDraft({ ...draft, server: e.target.value })}
          />
        </label>
        <label className="rq-filter">
          Statement contains
          <input
            value={draft.text}
            placeholder="SELECT"
            onChange={(e) => setDraft({ ...draft, text: e.target.value })}
          />
        </label>
      </form>
      {answer.data && <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />}
      <div className="rq-table sql-statements">{body}</div>
      {selectedRow && (
        <section className="panel" data-testid="sql-examples" aria-label="Recent executions">
          <h3 className="mono">{String(selectedRow.statement)}</h3>
          <p className="muted">
            {formatCount(selectedRow.calls)} calls on {String(selectedRow.server)},{' '}
            {formatPercent(selectedRow.error_rate)} failed.{' '}
            <button
              type="button"
              onClick={() =>
                push(
                  navigate(state, 'requests', {
                    kind: 'sql',
                    role: 'both',
                    server: String(selectedRow.server),
                  }),
                )
              }
            >
              All its server’s statements in Requests
            </button>
          </p>
          {examples.error ? (
            <ErrorMessage error={examples.error} />
          ) : !examples.data ? (
            <Loading what="recent executions" />
          ) : (
            <DataTable columns={EXAMPLE_COLUMNS} rows={examples.data.rows} height={320} sortable={false} />
          )}
        </section>
      )}
    </section>
  );
}
