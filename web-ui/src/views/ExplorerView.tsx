import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, exportHar } from '../api/client';
import type { QueryRequest, Row } from '../api/types';
import type { DataColumn } from '../components/DataTable';
import { DataTable } from '../components/DataTable';
import { NodeAnswers } from '../components/NodeAnswers';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { RequestDetail } from '../components/requests/RequestDetail';
import { RequestFiltersBar } from '../components/requests/RequestFiltersBar';
import { formatBytes, formatMs, formatTime } from '../domain/format';
import {
  harExportRequest,
  listSql,
  readRequestFilters,
  rowKey,
  writeRequestFilters,
  type RequestFilters,
} from '../domain/request-filters';
import { useQueryAnswer } from '../hooks/queries';
import '../components/requests/requests.css';
import type { ViewProps } from './view-props';

const statusClass = (status: number) => (status >= 500 ? 'status-error' : status >= 400 ? 'status-warn' : '');

const HTTP_COLUMNS: DataColumn[] = [
  { key: 'time', label: 'Time (UTC)', width: 190, format: (v) => formatTime(v) },
  { key: 'process', label: 'Process', width: 140 },
  { key: 'role', label: 'Side', width: 64 },
  { key: 'req_method', label: 'Method', width: 72 },
  { key: 'req_path', label: 'Path' },
  {
    key: 'resp_status',
    label: 'Status',
    width: 64,
    align: 'right',
    format: (v) => <span className={statusClass(Number(v))}>{v === null ? '–' : String(v)}</span>,
  },
  { key: 'latency_ms', label: 'Latency', width: 90, align: 'right', format: (v) => formatMs(v) },
  { key: 'resp_body_size', label: 'Resp. size', width: 90, align: 'right', format: (v) => formatBytes(v) },
  { key: 'remote_addr', label: 'Peer', width: 130 },
  { key: 'node', label: 'Node', width: 100 },
];

const SQL_COLUMNS: DataColumn[] = [
  { key: 'time', label: 'Time (UTC)', width: 190, format: (v) => formatTime(v) },
  { key: 'protocol', label: 'Protocol', width: 80 },
  { key: 'process', label: 'Process', width: 120 },
  { key: 'role', label: 'Side', width: 64 },
  { key: 'req_cmd', label: 'Command', width: 100 },
  { key: 'req', label: 'Statement' },
  {
    key: 'error',
    label: 'Error',
    width: 200,
    format: (v) => (v ? <span className="status-error">{String(v)}</span> : ''),
  },
  { key: 'latency_ms', label: 'Latency', width: 90, align: 'right', format: (v) => formatMs(v) },
  { key: 'node', label: 'Node', width: 100 },
];

/** Offers a Blob as a file download. */
function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Captured requests (HTTP, or SQL statements), newest first, filtered by everything in the URL; one selected
 * request's whole record beside them, and the filter exported as HAR.
 */
export function ExplorerView({ state, push, replace }: ViewProps) {
  const filters = useMemo(() => readRequestFilters(state.params), [state.params]);
  const selected = state.params.selected ?? null;
  const request = useMemo<QueryRequest>(
    () => ({ sql: listSql(filters, state.range) }),
    [filters, state.range],
  );
  // A selected request keeps the list still: a refresh would move the row away under the reader.
  const answer = useQueryAnswer(request, state.live && selected === null, 'requests');
  const [exporting, setExporting] = useState<'idle' | 'busy' | string>('idle');

  const setFilters = useCallback(
    (next: RequestFilters) => replace({ ...state, params: writeRequestFilters(next) }),
    [state, replace],
  );
  const select = useCallback(
    (key: string | null) =>
      push({ ...state, params: { ...writeRequestFilters(filters), ...(key ? { selected: key } : {}) } }),
    [state, push, filters],
  );
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && selected && !event.defaultPrevented) select(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, select]);

  const onExport = async () => {
    setExporting('busy');
    try {
      download(await exportHar(harExportRequest(filters, state.range)), 'loupe-export.har');
      setExporting('idle');
    } catch (error) {
      setExporting(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
    }
  };

  const rows: Row[] = answer.data?.rows ?? [];
  let table;
  if (answer.error && !answer.data)
    table = <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />;
  else if (!answer.data) table = <Loading what="requests" />;
  else if (rows.length === 0)
    table = (
      <Empty
        title="No requests match"
        hint="Widen the time range or clear a filter. Loupe records a request once its response is complete."
      />
    );
  else
    table = (
      <DataTable
        testId="requests-table"
        columns={filters.kind === 'http' ? HTTP_COLUMNS : SQL_COLUMNS}
        rows={rows}
        getRowKey={rowKey}
        selectedKey={selected}
        onSelect={(row) => select(rowKey(row))}
        sortable={false}
      />
    );

  return (
    <section className="view rq-view" aria-label="Requests">
      <RequestFiltersBar filters={filters} onChange={setFilters} />
      <div className="rq-summary">
        {answer.data && <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />}
        <span className="muted" data-testid="requests-count">
          {answer.data ? `${rows.length.toLocaleString('en')} shown, newest first` : ''}
          {answer.data && rows.length === filters.limit
            ? ` (the first ${filters.limit.toLocaleString('en')})`
            : ''}
        </span>
        {filters.kind === 'http' && (
          <button
            type="button"
            data-testid="export-har"
            disabled={exporting === 'busy'}
            onClick={() => void onExport()}
          >
            {exporting === 'busy' ? 'Exporting…' : 'Export as HAR'}
          </button>
        )}
        {exporting !== 'idle' && exporting !== 'busy' && (
          <span className="form-error" role="alert">
            {exporting}
          </span>
        )}
      </div>
      <div className={`rq-main${selected ? ' with-detail' : ''}`}>
        <div className="rq-table">{table}</div>
        {selected && (
          <RequestDetail selected={selected} onSelect={(key) => select(key)} onClose={() => select(null)} />
        )}
      </div>
    </section>
  );
}
