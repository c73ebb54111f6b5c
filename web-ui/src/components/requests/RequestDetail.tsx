import { useMemo } from 'react';
import type { Row } from '../../api/types';
import { formatMs, formatTime } from '../../domain/format';
import { headerList } from '../../domain/pretty-body';
import { counterpartSql, detailSql, rowKey } from '../../domain/request-filters';
import { useQueryAnswer } from '../../hooks/queries';
import { ErrorMessage, Loading } from '../StateMessage';
import { BodyBlock } from './BodyBlock';

function Headers({ title, value }: { title: string; value: unknown }) {
  const list = headerList(value);
  return (
    <section>
      <h4>{title}</h4>
      {list.length === 0 ? (
        <p className="muted">None captured.</p>
      ) : (
        <table className="data rq-headers">
          <tbody>
            {list.map(([name, v]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td className={v === '[REDACTED]' ? 'redacted' : ''}>
                  {v === '[REDACTED]' ? 'redacted at capture' : v}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const ms = (row: Row) => formatMs(Number(row.latency_ns) / 1e6);

function Endpoints({ row }: { row: Row }) {
  return (
    <dl className="rq-facts">
      <dt>Time</dt>
      <dd>{formatTime(row.time)} UTC</dd>
      <dt>Latency</dt>
      <dd>{ms(row)}</dd>
      <dt>Side</dt>
      <dd>
        {String(row.role)} · {String(row.process)} (pid {String(row.pid)}) on {String(row.node)}
      </dd>
      <dt>Connection</dt>
      <dd className="mono">
        {String(row.local_addr)}:{String(row.local_port)} ⇄ {String(row.remote_addr)}:
        {String(row.remote_port)}
      </dd>
    </dl>
  );
}

/** The other side of an HTTP request, when its peer was captured too. */
function Counterpart({ row, onSelect }: { row: Row; onSelect: (key: string) => void }) {
  const sql = useMemo(() => counterpartSql(row), [row]);
  const answer = useQueryAnswer(sql ? { sql } : null, false, 'request-counterpart');
  const other = answer.data?.rows[0];
  if (!sql || answer.isLoading) return null;
  return (
    <p className="rq-counterpart" data-testid="request-counterpart">
      {other ? (
        <>
          Also captured on the {String(other.role)} side: {String(other.process)} on {String(other.node)},{' '}
          {ms(other)}{' '}
          <button type="button" onClick={() => onSelect(rowKey(other))}>
            Show
          </button>
        </>
      ) : (
        <span className="muted">
          The {row.role === 'server' ? 'client' : 'server'} side was not captured.
        </span>
      )}
    </p>
  );
}

/** Everything Loupe stored about one request or statement. */
export function RequestDetail({
  selected,
  onSelect,
  onClose,
}: {
  selected: string;
  onSelect: (key: string) => void;
  onClose: () => void;
}) {
  const sql = useMemo(() => detailSql(selected), [selected]);
  const answer = useQueryAnswer(sql ? { sql } : null, false, 'request-detail');
  const row = answer.data?.rows[0];
  let body;
  if (!sql) body = <p className="muted">This link does not name a request.</p>;
  else if (answer.error) body = <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />;
  else if (answer.isLoading) body = <Loading what="the request" />;
  else if (!row)
    body = <p className="muted">Not in the store any more (retention), or on a node that is down.</p>;
  else if ('req_method' in row)
    body = (
      <>
        <h3 className="mono">
          {String(row.req_method)} {String(row.req_path)}{' '}
          <span
            className={
              Number(row.resp_status) >= 500
                ? 'status-error'
                : Number(row.resp_status) >= 400
                  ? 'status-warn'
                  : 'status-ok'
            }
          >
            {String(row.resp_status ?? '–')} {String(row.resp_message ?? '')}
          </span>
        </h3>
        <Endpoints row={row} />
        <Counterpart row={row} onSelect={onSelect} />
        <Headers title="Request headers" value={row.req_headers} />
        <BodyBlock
          title="Request body"
          body={row.req_body}
          size={row.req_body_size}
          truncated={row.req_body_truncated}
          testId="request-body"
        />
        <Headers title="Response headers" value={row.resp_headers} />
        <BodyBlock
          title="Response body"
          body={row.resp_body}
          size={row.resp_body_size}
          truncated={row.resp_body_truncated}
          testId="response-body"
        />
      </>
    );
  else
    body = (
      <>
        <h3 className="mono">{String(row.req_cmd)}</h3>
        <Endpoints row={row} />
        <section>
          <h4>Statement</h4>
          <pre data-testid="request-body">{String(row.req ?? '')}</pre>
        </section>
        {Array.isArray(row.req_params) && row.req_params.length > 0 && (
          <section>
            <h4>Parameters</h4>
            <pre>{JSON.stringify(row.req_params)}</pre>
          </section>
        )}
        <section>
          <h4>{row.error ? 'Error' : 'Result'}</h4>
          <pre data-testid="response-body" className={row.error ? 'status-error' : ''}>
            {String(row.error ?? row.resp ?? '')}
          </pre>
        </section>
      </>
    );
  return (
    <aside className="rq-detail panel" data-testid="request-detail" aria-label="Request detail">
      <button type="button" className="rq-close" aria-label="Close the detail" onClick={onClose}>
        ×
      </button>
      {body}
    </aside>
  );
}
