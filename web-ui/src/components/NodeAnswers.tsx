import type { NodeAnswer } from '../api/types';

/** Which nodes answered a query: a partial answer is stated, never hidden. */
export function NodeAnswers({ nodes, truncated }: { nodes: NodeAnswer[]; truncated: boolean }) {
  const failed = nodes.filter((n) => !n.ok);
  const cut = nodes.filter((n) => n.truncated);
  return (
    <div className={`node-answers${failed.length || truncated ? ' partial' : ''}`} data-testid="node-answers">
      {failed.length > 0 && (
        <strong className="partial-label">
          Partial answer: {failed.length} of {nodes.length} node{nodes.length === 1 ? '' : 's'} missing
        </strong>
      )}
      {truncated && failed.length === 0 && (
        <strong className="partial-label">
          Partial answer:{' '}
          {cut.length > 0 ? `${cut.map((n) => n.name).join(', ')} hit the row cap` : 'rows cut'}
        </strong>
      )}
      {nodes.map((node) => (
        <span
          key={node.name}
          className={`node-chip ${node.status ?? (node.ok ? 'ok' : 'error')}`}
          title={node.error ?? `${node.rows} rows in ${node.ms} ms`}
        >
          {node.name}: {node.status ?? (node.ok ? 'ok' : 'error')} · {node.rows} rows · {Math.round(node.ms)}{' '}
          ms
          {node.truncated ? ' · cut' : ''}
        </span>
      ))}
    </div>
  );
}
