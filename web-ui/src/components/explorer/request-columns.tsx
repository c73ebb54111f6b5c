import type { DataColumn } from '../DataTable';
import type { Row } from '../../api/types';
import { formatBytes, formatMs, formatTime, toNumber } from '../../domain/format';

const address = (addr: unknown, port: unknown) =>
  addr === null || addr === undefined ? '–' : `${String(addr).includes(':') ? `[${addr}]` : addr}:${port}`;

export function statusClass(status: unknown): string {
  const code = toNumber(status) ?? 0;
  return code >= 500 ? 'status-error' : code >= 400 ? 'status-warn' : code >= 200 ? 'status-ok' : '';
}

const common: DataColumn[] = [
  { key: 'time', label: 'Time (UTC)', width: 176, format: (v) => formatTime(v) },
  { key: 'node', label: 'Node', width: 90 },
  { key: 'process', label: 'Process', width: 120 },
  { key: 'role', label: 'Side', width: 64 },
];

const tail: DataColumn[] = [
  { key: 'latency_ms', label: 'Latency', align: 'right', width: 90, format: (v) => formatMs(v) },
  {
    key: 'local_port',
    label: 'Local',
    width: 150,
    format: (_v, row: Row) => address(row.local_addr, row.local_port),
  },
  {
    key: 'remote_port',
    label: 'Remote',
    width: 140,
    format: (_v, row: Row) => address(row.remote_addr, row.remote_port),
  },
];

export const HTTP_COLUMNS: DataColumn[] = [
  ...common,
  { key: 'req_method', label: 'Method', width: 76 },
  { key: 'req_path', label: 'Path' },
  {
    key: 'resp_status',
    label: 'Status',
    align: 'right',
    width: 64,
    format: (v) => <span className={statusClass(v)}>{v === null || v === undefined ? '–' : String(v)}</span>,
  },
  ...tail.slice(0, 1),
  { key: 'req_body_size', label: 'Req size', align: 'right', width: 80, format: (v) => formatBytes(v) },
  { key: 'resp_body_size', label: 'Resp size', align: 'right', width: 84, format: (v) => formatBytes(v) },
  ...tail.slice(1),
];

export const SQL_COLUMNS: DataColumn[] = [
  ...common,
  { key: 'protocol', label: 'Protocol', width: 76 },
  { key: 'req_cmd', label: 'Command', width: 90 },
  { key: 'req', label: 'Statement' },
  {
    key: 'error',
    label: 'Error',
    width: 150,
    format: (v) => (v ? <span className="status-error">{String(v)}</span> : ''),
  },
  ...tail,
];
