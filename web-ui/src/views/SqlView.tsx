import { useMemo } from 'react';
import type { Row } from '../api/types';
import { DataTable, type DataColumn } from '../components/DataTable';
import { NodeAnswers } from '../components/NodeAnswers';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { FilterInput } from '../components/explorer/FilterInput';
import { formatCount, formatMs, formatPercent, formatTime, toNumber } from '../domain/format';
import { SQL_VIEW_LIMIT, sqlExamplesSql, sqlViewSql } from '../domain/sql-view-query';
import { formatViewState, navigate, type ViewState } from '../domain/url-state';
import { useQueryAnswer } from '../hooks/queries';
import '../components/explorer/explorer.css';
import './SqlView.css';
import type { ViewProps } from './view-props';

/** One statement on one server: what a row of the table, the selection in the URL and the examples share. */
interface StatementKey {
  protocol: string;
  server: string;
  statement: string;
}

const keyText = (key: StatementKey) => `${key.protocol}\n${key.server}\n${key.statement}`;
const rowKey = (row: Row) =>
  keyText({ protocol: String(row.protocol), server: String(row.server), statement: String(row.statement) });

const COLUMNS: DataColumn[] = [
  { key: 'protocol', label: 'Protocol', width: 76 },
  { key: 'server', label: 'Server', width: 170 },
  { key: 'statement', label: 'Statement' },
  { key: 'calls', label: 'Calls', align: 'right', width: 76, format: (v) => formatCount(v) },
  {
    key: 'errors',
    label: 'Errors',
    align: 'right',
    width: 70,
    format: (v) => <span className={(toNumber(v) ?? 0) > 0 ? 'status-error' : ''}>{formatCount(v)}</span>,
  },
  { key: 'error_rate', label: 'Error rate', align: 'right', width: 86, format: (v) => formatPercent(v) },
  { key: 'p50_ms', label: 'p50', align: 'right', width: 80, format: (v) => formatMs(v) },
  { key: 'p99_ms', label: 'p99', align: 'right', width: 80, format: (v) => formatMs(v) },
  { key: 'total_ms', label: 'Total time', align: 'right', width: 92, format: (v) => formatMs(v) },
];

function selectedStatement(params: Record<string, string>): StatementKey | null {
  const { sel_protocol: protocol, sel_server: server, sel_statement: statement } = params;
  return protocol && server && statement ? { protocol, server, statement } : null;
}

function Examples({
  selected,
  state,
  push,
}: {
  selected: StatementKey;
  state: ViewState;
  push: (next: ViewState) => void;
}) {
  const answer = useQueryAnswer({ sql: sqlExamplesSql(selected, state.range) }, state.live, 'sql-examples');
  const explorer = navigate(state, 'requests', {
    kind: 'sql',
    protocol: selected.protocol,
    server: selected.server,
    query: selected.statement,
  });
  return (
    <section className="panel sql-examples" aria-label="Recent calls" data-testid="sql-examples">
      <header className="sql-examples-head">
        <h2>Recent calls on {selected.server}</h2>
        <a
          href={formatViewState(explorer)}
          data-testid="sql-open-explorer"
          onClick={(event) => {
            event.preventDefault();
            push(explorer);
          }}
        >
          All calls in the request explorer →
        </a>
      </header>
      <pre className="detail-pre">{selected.statement}</pre>
      {answer.isPending ? (
        <Loading what="recent calls" />
      ) : answer.isError ? (
        <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />
      ) : answer.data.rows.length === 0 ? (
        <Empty title="No calls in this range" hint="Widen the time range." />
      ) : (
        <ol className="sql-example-list">
          {answer.data.rows.map((row, i) => {
            const params = Array.isArray(row.req_params) ? row.req_params : [];
            return (
              <li key={i}>
                <div className="sql-example-meta">
                  <span>{formatTime(row.time)}</span>
                  <span>
                    {String(row.role)} · {String(row.process)} on {String(row.node)}
                  </span>
                  <span>{formatMs(row.latency_ms)}</span>
                </div>
                <pre className="detail-pre">{String(row.req ?? '')}</pre>
                {params.length > 0 && (
                  <p className="mono ex-muted">
                    {params
                      .map((p, n) => `$${n + 1} = ${p === null ? 'NULL' : JSON.stringify(p)}`)
                      .join(', ')}
                  </p>
                )}
                {row.error ? <p className="mono status-error">{String(row.error)}</p> : null}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** SQL statements grouped by normalised text per database server, with a few recent calls of the chosen one. */
export function SqlView({ state, push, replace }: ViewProps) {
  const server = state.params.server ?? '';
  const text = state.params.text ?? '';
  const sql = useMemo(
    () => sqlViewSql({ server, text, limit: SQL_VIEW_LIMIT }, state.range),
    [server, text, state.range],
  );
  const answer = useQueryAnswer({ sql }, state.live, 'sql-view');
  const selected = selectedStatement(state.params);
  const setParams = (changes: Record<string, string>) =>
    replace({ ...state, params: { ...state.params, ...changes } });
  const rows = answer.data?.rows ?? [];

  return (
    <section className="view sql-view" aria-label="SQL statements">
      <div className="explorer-filters panel" role="search" aria-label="Statement filters">
        <FilterInput
          label="Server contains"
          value={server}
          testId="filter-sql-server"
          placeholder="postgres:5432"
          onCommit={(value) => setParams({ server: value })}
        />
        <FilterInput
          label="Statement contains"
          value={text}
          testId="filter-sql-text"
          placeholder="orders"
          width={320}
          onCommit={(value) => setParams({ text: value })}
        />
        {answer.data && (
          <div className="explorer-summary">
            <span>
              {formatCount(rows.length)} statements
              {rows.length >= SQL_VIEW_LIMIT ? ` (the ${SQL_VIEW_LIMIT} with the most total time)` : ''}
            </span>
            <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />
          </div>
        )}
      </div>
      <div className="sql-table">
        {answer.isPending ? (
          <Loading what="SQL statements" />
        ) : answer.isError ? (
          <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />
        ) : rows.length === 0 ? (
          <Empty
            title="No SQL statements in this range"
            hint="Loupe sees PostgreSQL and MySQL traffic on the nodes it runs on; widen the time range or clear the filters."
          />
        ) : (
          <DataTable
            testId="sql-table"
            columns={COLUMNS}
            rows={rows}
            height={Math.min(520, 34 + rows.length * 28)}
            getRowKey={rowKey}
            selectedKey={selected ? keyText(selected) : null}
            onSelect={(row) => {
              const next = {
                ...state,
                params: {
                  ...state.params,
                  sel_protocol: String(row.protocol),
                  sel_server: String(row.server),
                  sel_statement: String(row.statement),
                },
              };
              if (selected) replace(next);
              else push(next);
            }}
          />
        )}
      </div>
      {selected && <Examples selected={selected} state={state} push={push} />}
    </section>
  );
}
