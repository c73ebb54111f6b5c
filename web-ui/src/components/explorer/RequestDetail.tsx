import { useQueryAnswer } from '../../hooks/queries';
import type { Row } from '../../api/types';
import { pairRequest, requestDetailSql, requestIdOf, type RequestId } from '../../domain/request-detail';
import { formatMs, formatTime, toNumber } from '../../domain/format';
import { ErrorMessage, Loading } from '../StateMessage';
import { NodeAnswers } from '../NodeAnswers';
import { PayloadBlock, HeaderTable } from './PayloadBlock';
import { statusClass } from './request-columns';

const NS_PER_MS = 1e6;

function SidesTable({ row, other, onOpen }: { row: Row; other: Row | null; onOpen: (row: Row) => void }) {
  // Server side first, as the request flows back to the client.
  const sides = other && other.role === 'server' ? [other, row] : [row, ...(other ? [other] : [])];
  return (
    <table className="data detail-sides">
      <thead>
        <tr>
          <th>Side</th>
          <th>Process (pid)</th>
          <th>Node</th>
          <th>Local → remote</th>
          <th className="num">Latency</th>
          <th>Completed (UTC)</th>
        </tr>
      </thead>
      <tbody>
        {sides.map((side) => (
          <tr key={side.role === row.role ? 'this' : 'other'} aria-current={side === row || undefined}>
            <td>
              {side === row ? (
                <strong>{String(side.role)}</strong>
              ) : (
                <button type="button" className="link-button" onClick={() => onOpen(side)}>
                  {String(side.role)} ↗
                </button>
              )}
            </td>
            <td>
              {String(side.process ?? '–')} ({String(side.pid ?? '–')})
            </td>
            <td>{String(side.node)}</td>
            <td className="mono">
              {String(side.local_addr)}:{String(side.local_port)} → {String(side.remote_addr)}:
              {String(side.remote_port)}
            </td>
            <td className="num">{formatMs((toNumber(side.latency_ns) ?? NaN) / NS_PER_MS)}</td>
            <td>{formatTime(side.time)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HttpPayloads({ row }: { row: Row }) {
  return (
    <>
      <section aria-label="Request">
        <h3>Request</h3>
        <HeaderTable headers={row.req_headers} />
        <PayloadBlock
          testId="request-body"
          title="Request body"
          body={row.req_body}
          size={row.req_body_size}
          truncated={row.req_body_truncated}
        />
      </section>
      <section aria-label="Response">
        <h3>
          Response{' '}
          <span className={statusClass(row.resp_status)}>
            {String(row.resp_status ?? '–')} {String(row.resp_message ?? '')}
          </span>
        </h3>
        <HeaderTable headers={row.resp_headers} />
        <PayloadBlock
          testId="response-body"
          title="Response body"
          body={row.resp_body}
          size={row.resp_body_size}
          truncated={row.resp_body_truncated}
        />
      </section>
    </>
  );
}

function SqlPayloads({ row }: { row: Row }) {
  const params = Array.isArray(row.req_params) ? row.req_params : null;
  return (
    <>
      <section aria-label="Statement">
        <h3>Statement {row.req_cmd ? <span className="ex-muted">({String(row.req_cmd)})</span> : null}</h3>
        <pre className="detail-pre" data-testid="request-body">
          {String(row.req ?? '')}
        </pre>
        {params && params.length > 0 && (
          <ol className="detail-params mono" aria-label="Bound parameters">
            {params.map((value, i) => (
              <li key={i}>
                ${i + 1} = {value === null ? 'NULL' : JSON.stringify(value)}
              </li>
            ))}
          </ol>
        )}
        {row.req_normalized ? (
          <p className="ex-muted mono">normalised: {String(row.req_normalized)}</p>
        ) : null}
      </section>
      <section aria-label="Result">
        <h3>
          Result {row.resp_status ? <span className="ex-muted">({String(row.resp_status)})</span> : null}
        </h3>
        {row.error ? <p className="status-error mono">{String(row.error)}</p> : null}
        <pre className="detail-pre" data-testid="response-body">
          {String(row.resp ?? '') || '–'}
        </pre>
      </section>
    </>
  );
}

/** The whole of one captured request, with the other side's capture of it when there is one. */
export function RequestDetail({
  id,
  onOpen,
  onClose,
}: {
  id: RequestId;
  onOpen: (selected: string) => void;
  onClose: () => void;
}) {
  // A captured request does not change: it is not refreshed with the live list.
  const answer = useQueryAnswer({ sql: requestDetailSql(id) }, false, 'request-detail');
  const { row, other } = answer.data ? pairRequest(answer.data.rows, id) : { row: null, other: null };
  const http = id.protocol === 'http';
  return (
    <aside className="request-detail panel" data-testid="request-detail" aria-label="Request detail">
      <header className="detail-head">
        <h2 className="mono">
          {row
            ? http
              ? `${String(row.req_method)} ${String(row.req_path)} HTTP/${String(row.version ?? '1.1')}`
              : `${id.protocol}: ${String(row.req_cmd ?? 'statement')}`
            : 'Request'}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the detail (Escape)">
          ✕
        </button>
      </header>
      {answer.isPending ? (
        <Loading what="the request" />
      ) : answer.isError ? (
        <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />
      ) : !row ? (
        <>
          <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />
          <p className="state-message">
            This request is no longer in the store (retention removed it), or its node did not answer.
          </p>
        </>
      ) : (
        <div className="detail-body">
          <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />
          <dl className="detail-facts">
            <dt>Latency</dt>
            <dd>{formatMs((toNumber(row.latency_ns) ?? NaN) / NS_PER_MS)}</dd>
            <dt>Completed</dt>
            <dd>{formatTime(row.time)} UTC</dd>
            <dt>Process</dt>
            <dd>
              {String(row.process)} (pid {String(row.pid ?? '–')}) on {String(row.node)}
            </dd>
            {row.encrypted === true && (
              <>
                <dt>TLS</dt>
                <dd>captured in the clear from the TLS library</dd>
              </>
            )}
          </dl>
          <h3>Sides</h3>
          <SidesTable row={row} other={other} onOpen={(side) => onOpen(requestIdOf(side))} />
          {other ? (
            <p data-testid="request-counterpart">
              Also captured on the {String(other.role)} side: {String(other.process)} on {String(other.node)},{' '}
              {formatMs((toNumber(other.latency_ns) ?? NaN) / NS_PER_MS)}.
            </p>
          ) : (
            <p className="ex-muted">
              Only the {String(row.role)} side was captured: the other end is not monitored, or its address
              differs (NAT).
            </p>
          )}
          {http ? <HttpPayloads row={row} /> : <SqlPayloads row={row} />}
        </div>
      )}
    </aside>
  );
}
