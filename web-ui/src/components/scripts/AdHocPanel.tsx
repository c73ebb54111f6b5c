import { useMemo, useRef, useState } from 'react';
import { useQueryAnswer, useTables } from '../../hooks/queries';
import { describeTimeRange, timePredicate } from '../../domain/time-range';
import { autoChart, columnsOf, timeSeries, unitOf } from '../../domain/widget-data';
import type { ViewProps } from '../../views/view-props';
import { TimeSeriesChart } from '../charts/TimeSeriesChart';
import { SchemaPanel } from '../editor/SchemaPanel';
import { SqlEditor, type SqlEditorHandle } from '../editor/SqlEditor';
import { QueryOutcome } from './QueryOutcome';
import { ResultTable } from './ResultTable';

/** What the editor holds before the user writes anything: a query that shows what the tables look like. */
export const STARTER_SQL = `SELECT time, process, role, req_method, req_path, resp_status, latency_ns / 1e6 AS latency_ms
  FROM http_events
 ORDER BY time DESC
 LIMIT 100`;

interface Run {
  sql: string;
  /** Counts runs, so running the same text again asks the engine again instead of reusing the cached answer. */
  id: number;
}

/**
 * The ad-hoc SQL editor: the text lives in the URL (`sql`), so a query is a link; it runs on Ctrl+Enter or the
 * Run button, and a link that carries a query runs it on opening.
 */
export function AdHocPanel({ state, replace }: Pick<ViewProps, 'state' | 'replace'>) {
  const tables = useTables();
  const editor = useRef<SqlEditorHandle>(null);
  const text = state.params.sql ?? STARTER_SQL;
  const [run, setRun] = useState<Run | null>(() =>
    state.params.sql ? { sql: state.params.sql, id: 0 } : null,
  );
  const request = useMemo(() => (run ? { sql: run.sql } : null), [run]);
  const answer = useQueryAnswer(request, false, `adhoc-${run?.id ?? 0}`);
  const runText = (sql: string) => {
    if (sql.trim() === '') return;
    setRun((previous) => ({ sql, id: (previous?.id ?? 0) + 1 }));
  };

  return (
    <div className="adhoc">
      <div className="adhoc-main">
        <SqlEditor
          ref={editor}
          value={text}
          tables={tables.data}
          onChange={(sql) => replace({ ...state, params: { ...state.params, sql } })}
          onRun={runText}
        />
        <div className="adhoc-toolbar">
          <button type="button" className="primary" data-testid="run-query" onClick={() => runText(text)}>
            Run
          </button>
          <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
          <button
            type="button"
            title={`Insert a predicate on time for the selected range (${describeTimeRange(state.range)})`}
            onClick={() => editor.current?.insert(timePredicate(state.range))}
          >
            Insert time filter
          </button>
          <span className="muted-note">
            One SELECT over the node tables; the engine runs it on every node and merges the answers.
          </span>
        </div>
        {run && (
          <QueryOutcome
            answer={answer.data}
            error={answer.error}
            fetching={answer.isFetching}
            onRetry={() => void answer.refetch()}
          >
            {(result) => {
              const chart = autoChart(result.columns, result.rows);
              return (
                <>
                  {chart && (
                    <TimeSeriesChart
                      title={chart.title ?? ''}
                      series={timeSeries(chart, result.rows)}
                      unit={unitOf(columnsOf(chart, 'y'))}
                    />
                  )}
                  <ResultTable columns={result.columns} rows={result.rows} />
                </>
              );
            }}
          </QueryOutcome>
        )}
      </div>
      <aside className="schema-aside" aria-label="Tables">
        <h3>Tables</h3>
        <SchemaPanel
          tables={tables.data}
          error={tables.error}
          onInsert={(name) => editor.current?.insert(name)}
        />
      </aside>
    </div>
  );
}
