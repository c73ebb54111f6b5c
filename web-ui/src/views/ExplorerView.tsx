import { useCallback, useEffect, useMemo } from 'react';
import type { Row } from '../api/types';
import { DataTable } from '../components/DataTable';
import { NodeAnswers } from '../components/NodeAnswers';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { ExplorerFilters } from '../components/explorer/ExplorerFilters';
import { ExportHarButton } from '../components/explorer/ExportHarButton';
import { RequestDetail } from '../components/explorer/RequestDetail';
import { HTTP_COLUMNS, SQL_COLUMNS } from '../components/explorer/request-columns';
import { explorerListSql, harExportFilter, readExplorerFilter } from '../domain/explorer-query';
import { formatCount } from '../domain/format';
import { parseRequestId, requestIdOf } from '../domain/request-detail';
import { describeTimeRange } from '../domain/time-range';
import { useQueryAnswer } from '../hooks/queries';
import '../components/explorer/explorer.css';
import type { ViewProps } from './view-props';

const rowKey = (row: Row) => requestIdOf(row);

/** Captured HTTP requests and SQL statements, newest first, filtered from the URL, with a detail pane. */
export function ExplorerView({ state, push, replace }: ViewProps) {
  const filter = useMemo(() => readExplorerFilter(state.params), [state.params]);
  const list = useMemo(() => explorerListSql(filter, state.range), [filter, state.range]);
  const answer = useQueryAnswer({ sql: list.sql }, state.live, 'requests');
  const selected = state.params.selected ?? '';
  const selectedId = useMemo(() => parseRequestId(selected), [selected]);
  const har = harExportFilter(filter, state.range);

  const setParams = (changes: Record<string, string>) =>
    replace({ ...state, params: { ...state.params, ...changes } });

  // Opening a detail is a history entry (Back closes it); moving between rows with the keyboard is not.
  const select = useCallback(
    (id: string) => {
      const next = { ...state, params: { ...state.params, selected: id } };
      if (selected === '') push(next);
      else replace(next);
    },
    [state, selected, push, replace],
  );
  const close = useCallback(() => {
    const params = { ...state.params };
    delete params.selected;
    replace({ ...state, params });
  }, [state, replace]);

  useEffect(() => {
    if (!selectedId) return;
    const onKey = (event: KeyboardEvent) => {
      // Escape in an open popover (the time range picker) closes that popover, not the detail.
      const inPopover = event.target instanceof Element && event.target.closest('.popover') !== null;
      if (event.key === 'Escape' && !inPopover) close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selectedId, close]);

  const rows = answer.data?.rows ?? [];
  return (
    <section className="view explorer" aria-label="Request explorer">
      <ExplorerFilters filter={filter} live={state.live} problems={list.problems} setParams={setParams} />
      <div className="explorer-summary">
        {answer.data && (
          <>
            <span data-testid="requests-count">
              {formatCount(rows.length)} {filter.kind === 'http' ? 'requests' : 'statements'}
              {rows.length >= filter.limit ? ` (the newest ${formatCount(filter.limit)})` : ''} ·{' '}
              {describeTimeRange(state.range).toLowerCase()}
            </span>
            <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />
          </>
        )}
        {answer.isFetching && answer.data && <span className="spinner" aria-label="Refreshing" />}
        <div className="explorer-actions">
          {filter.kind === 'http' && (
            <ExportHarButton
              request={{ where: har.where, since: har.since, role: har.role, limit: filter.limit }}
              {...(har.problems.length > 0 ? { disabledReason: 'Fix the filters first' } : {})}
            />
          )}
        </div>
      </div>
      <div className={`explorer-split${selectedId ? ' with-detail' : ''}`}>
        <div className="explorer-list">
          {answer.isPending ? (
            <Loading what="requests" />
          ) : answer.isError ? (
            <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />
          ) : rows.length === 0 ? (
            <Empty
              title={`No ${filter.kind === 'http' ? 'HTTP requests' : 'SQL statements'} match`}
              hint="Widen the time range, clear a filter, or check on the Nodes tab that the collectors capture traffic."
            />
          ) : (
            <DataTable
              testId="requests-table"
              columns={filter.kind === 'http' ? HTTP_COLUMNS : SQL_COLUMNS}
              rows={rows}
              getRowKey={rowKey}
              selectedKey={selectedId ? selected : null}
              onSelect={(row) => select(requestIdOf(row))}
            />
          )}
        </div>
        {selectedId && <RequestDetail key={selected} id={selectedId} onOpen={select} onClose={close} />}
      </div>
    </section>
  );
}
