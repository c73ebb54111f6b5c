import { useMemo, type ReactNode } from 'react';
import type { QueryAnswer, Row } from '../api/types';
import { TimeSeriesChart } from '../components/charts/TimeSeriesChart';
import { NodeAnswers } from '../components/NodeAnswers';
import { RowTable, type RowColumn } from '../components/service/RowTable';
import '../components/service/service-view.css';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { formatCount, formatMs, formatPercent, formatTime, toNumber } from '../domain/format';
import {
  endpointsSql,
  failingSql,
  parseServiceTarget,
  protocolProbeSql,
  slowestSql,
  statementsSql,
  timelineSql,
  type ServiceProtocol,
  type ServiceTarget,
} from '../domain/service-queries';
import { PROTOCOL_LABELS } from '../domain/service-graph';
import { serviceCharts } from '../domain/service-timeline';
import { chartStepSeconds } from '../domain/time-range';
import { navigate } from '../domain/url-state';
import { useQueryAnswer } from '../hooks/queries';
import type { ViewProps } from './view-props';

/** One query's answer in a panel: loading, error, partial-answer notes, then the content. */
function Answer({
  query,
  what,
  children,
}: {
  query: ReturnType<typeof useQueryAnswer>;
  what: string;
  children: (answer: QueryAnswer) => ReactNode;
}) {
  if (query.error && !query.data)
    return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  if (!query.data) return <Loading what={what} />;
  const partial = query.data.truncated || query.data.nodes.some((n) => !n.ok);
  return (
    <>
      {partial && <NodeAnswers nodes={query.data.nodes} truncated={query.data.truncated} />}
      {children(query.data)}
    </>
  );
}

const ms = (key: string): RowColumn => ({
  key,
  label: key.replace('_ms', ''),
  numeric: true,
  render: (r) => formatMs(r[key]),
});
const count = (key: string, label = key): RowColumn => ({
  key,
  label,
  numeric: true,
  render: (r) => formatCount(r[key]),
});
const errorsOf: RowColumn = {
  key: 'errors',
  label: 'errors',
  numeric: true,
  render: (r) => {
    const errors = toNumber(r.errors) ?? 0;
    const total = toNumber(r.requests ?? r.calls) ?? 0;
    return (
      <span className={errors > 0 ? 'status-error' : undefined}>
        {formatCount(errors)}
        {total > 0 && errors > 0 ? ` (${formatPercent(errors / total)})` : ''}
      </span>
    );
  },
};
const time: RowColumn = { key: 'time', label: 'time (UTC)', render: (r) => formatTime(r.time) };
const latency: RowColumn = {
  key: 'latency_ms',
  label: 'latency',
  numeric: true,
  render: (r) => formatMs(r.latency_ms),
};
const status: RowColumn = {
  key: 'status',
  label: 'status',
  numeric: true,
  render: (r) => {
    const code = toNumber(r.status) ?? 0;
    return (
      <span className={code >= 500 ? 'status-error' : code >= 400 ? 'status-warn' : undefined}>
        {String(r.status)}
      </span>
    );
  },
};

const HTTP_REQUEST_COLUMNS: RowColumn[] = [
  time,
  { key: 'method', label: 'method' },
  { key: 'path', label: 'path' },
  status,
  latency,
];
const SQL_REQUEST_COLUMNS: RowColumn[] = [
  time,
  { key: 'statement', label: 'statement' },
  {
    key: 'error',
    label: 'error',
    render: (r) => <span className="status-error">{String(r.error ?? '')}</span>,
  },
  latency,
];

function Timeline({
  target,
  protocol,
  state,
}: {
  target: ServiceTarget;
  protocol: ServiceProtocol;
  state: ViewProps['state'];
}) {
  const request = useMemo(
    () => ({ sql: timelineSql(target, state.range, protocol) }),
    [target, state.range, protocol],
  );
  const query = useQueryAnswer(request, state.live, 'service-timeline');
  const step = chartStepSeconds(state.range);
  return (
    <Answer query={query} what="the timeline">
      {(answer) => {
        const charts = serviceCharts(answer.rows, step);
        return (
          <div className="service-charts">
            <div className="panel">
              <TimeSeriesChart title="Requests/s" series={charts.rate} unit="rate" height={180} />
            </div>
            <div className="panel">
              <TimeSeriesChart title="Error rate" series={charts.errorRate} unit="percent" height={180} />
            </div>
            <div className="panel">
              <TimeSeriesChart title="Latency p50 / p99" series={charts.latency} unit="ms" height={180} />
            </div>
          </div>
        );
      }}
    </Answer>
  );
}

function QueryTable({
  sql,
  tag,
  state,
  caption,
  columns,
  empty,
  onOpen,
  testId,
}: {
  sql: string;
  tag: string;
  state: ViewProps['state'];
  caption: string;
  columns: RowColumn[];
  empty: string;
  onOpen?: (row: Row) => void;
  testId: string;
}) {
  const request = useMemo(() => ({ sql }), [sql]);
  const query = useQueryAnswer(request, state.live, tag);
  return (
    <div className="panel">
      <Answer query={query} what={caption.toLowerCase()}>
        {(answer) =>
          answer.rows.length === 0 ? (
            <Empty title={caption} hint={empty} />
          ) : (
            <RowTable
              caption={caption}
              columns={columns}
              rows={answer.rows}
              onOpen={onOpen}
              testId={testId}
            />
          )
        }
      </Answer>
    </div>
  );
}

/** The slowest and the latest failing requests (or statements) side by side. */
function SlowestAndFailing({
  target,
  protocol,
  state,
  columns,
  onOpen,
  slowest,
  failing,
}: {
  target: ServiceTarget;
  protocol: ServiceProtocol;
  state: ViewProps['state'];
  columns: RowColumn[];
  onOpen: (row: Row) => void;
  slowest: [caption: string, empty: string];
  failing: [caption: string, empty: string];
}) {
  return (
    <div className="service-tables">
      <QueryTable
        sql={slowestSql(target, state.range, protocol)}
        tag="service-slowest"
        state={state}
        caption={slowest[0]}
        testId="service-slowest"
        columns={columns}
        empty={slowest[1]}
        onOpen={onOpen}
      />
      <QueryTable
        sql={failingSql(target, state.range, protocol)}
        tag="service-failing"
        state={state}
        caption={failing[0]}
        testId="service-failing"
        columns={columns}
        empty={failing[1]}
        onOpen={onOpen}
      />
    </div>
  );
}

/** One service: its traffic over time, what it serves (endpoints or statements), its slowest and failing requests. */
export function ServiceView({ state, push }: ViewProps) {
  const service = state.params.service ?? '';
  const target = useMemo(() => parseServiceTarget(service), [service]);
  const probeRequest = useMemo(
    () => (service ? { sql: protocolProbeSql(target, state.range) } : null),
    [service, target, state.range],
  );
  const probe = useQueryAnswer(probeRequest, false, 'service-protocol');

  if (!service) {
    return (
      <section className="view service-view">
        <Empty title="No service chosen" hint="Open a service from the service map." />
      </section>
    );
  }

  const busiest = probe.data?.rows
    .map((r) => ({ protocol: r.protocol as ServiceProtocol, requests: toNumber(r.requests) ?? 0 }))
    .sort((a, b) => b.requests - a.requests)[0];
  const protocol: ServiceProtocol | null = busiest && busiest.requests > 0 ? busiest.protocol : null;
  /** Requests of this service in the explorer, narrowed by what the row says. */
  const openRequests = (extra: Record<string, string>) =>
    push(navigate(state, 'requests', { service: target.process ?? target.name, ...extra }));
  const openHttpRow = (row: Row) =>
    openRequests({
      method: String(row.method ?? ''),
      path: String(row.path ?? ''),
      status: String(row.status ?? ''),
    });

  let body: ReactNode;
  if (probe.error && !probe.data)
    body = <ErrorMessage error={probe.error} onRetry={() => void probe.refetch()} />;
  else if (!probe.data) body = <Loading what={`the traffic of ${service}`} />;
  else if (!protocol) {
    body = (
      <Empty
        title={`No requests of ${service} in this range`}
        hint="Widen the time range, or check the name: a server is named process:port, as on the service map."
      />
    );
  } else if (protocol === 'http') {
    body = (
      <>
        <Timeline target={target} protocol={protocol} state={state} />
        <QueryTable
          sql={endpointsSql(target, state.range)}
          tag="service-endpoints"
          state={state}
          caption="Endpoints"
          testId="service-endpoints"
          columns={[
            { key: 'method', label: 'method' },
            { key: 'path', label: 'path pattern' },
            count('requests'),
            errorsOf,
            ms('p50_ms'),
            ms('p99_ms'),
          ]}
          empty="No requests in this range."
          onOpen={(row) => openRequests({ method: String(row.method ?? ''), path: String(row.path ?? '') })}
        />
        <SlowestAndFailing
          target={target}
          protocol={protocol}
          state={state}
          columns={HTTP_REQUEST_COLUMNS}
          onOpen={openHttpRow}
          slowest={['Slowest requests', 'No requests in this range.']}
          failing={['Failing requests (5xx)', 'No request failed in this range.']}
        />
      </>
    );
  } else {
    const openStatement = () => openRequests({ protocol });
    body = (
      <>
        <Timeline target={target} protocol={protocol} state={state} />
        <QueryTable
          sql={statementsSql(target, state.range, protocol)}
          tag="service-statements"
          state={state}
          caption="Statements (normalised)"
          testId="service-statements"
          columns={[
            { key: 'statement', label: 'statement' },
            count('calls'),
            errorsOf,
            ms('p50_ms'),
            ms('p99_ms'),
            { key: 'total_ms', label: 'total', numeric: true, render: (r) => formatMs(r.total_ms) },
          ]}
          empty="No statements in this range."
        />
        <SlowestAndFailing
          target={target}
          protocol={protocol}
          state={state}
          columns={SQL_REQUEST_COLUMNS}
          onOpen={openStatement}
          slowest={['Slowest statements', 'No statements in this range.']}
          failing={['Failing statements', 'No statement failed in this range.']}
        />
      </>
    );
  }

  return (
    <section className="view service-view" aria-label={`Service ${service}`}>
      <header className="service-header">
        <a
          href="/map"
          onClick={(event) => {
            event.preventDefault();
            push(navigate(state, 'map', { node: service }));
          }}
        >
          ← Service map
        </a>
        <h1 className="mono">{service}</h1>
        {protocol && (
          <span className="muted">
            {PROTOCOL_LABELS[protocol]}
            {protocol === 'http' ? '' : ' database'}
            {target.address
              ? ' · seen by its clients only'
              : target.port === null
                ? ' · its outgoing calls'
                : ''}
          </span>
        )}
        <button type="button" onClick={() => openRequests({})}>
          Requests
        </button>
      </header>
      {body}
    </section>
  );
}
