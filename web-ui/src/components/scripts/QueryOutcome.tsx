import type { ReactNode } from 'react';
import { ApiError } from '../../api/client';
import type { QueryAnswer } from '../../api/types';
import { formatMs } from '../../domain/format';
import { NodeAnswers } from '../NodeAnswers';
import { ErrorMessage, Loading } from '../StateMessage';

/** How long the engine took: planning, fan-out to the nodes and merging, as the broker measured them. */
function Timing({ answer }: { answer: QueryAnswer }) {
  const t = answer.timings;
  if (!t) return null;
  return (
    <span title={`plan ${formatMs(t.planMs)}, fan-out ${formatMs(t.fanOutMs)}, merge ${formatMs(t.mergeMs)}`}>
      in {formatMs(t.planMs + t.fanOutMs + t.mergeMs)}
    </span>
  );
}

/**
 * Around a query's result: the engine's error in full when it refused or failed the query, else which nodes
 * answered (always, so a partial answer is never mistaken for a whole one), the row count and time, then the
 * result itself.
 */
export function QueryOutcome({
  answer,
  error,
  fetching,
  onRetry,
  children,
}: {
  answer: QueryAnswer | undefined;
  error: unknown;
  fetching: boolean;
  onRetry?: () => void;
  children: (answer: QueryAnswer) => ReactNode;
}) {
  if (error) {
    // A refused or invalid query fails the same way again; only other failures are worth a retry.
    const final = error instanceof ApiError && error.status >= 400 && error.status < 500;
    return (
      <div className="query-error" data-testid="query-error">
        <ErrorMessage error={error} {...(onRetry && !final ? { onRetry } : {})} />
      </div>
    );
  }
  if (!answer) return <Loading what="the answer" />;
  return (
    <div className="query-result" data-testid="query-result" aria-busy={fetching}>
      <div className="result-summary">
        <NodeAnswers nodes={answer.nodes} truncated={answer.truncated} />
        <span className="result-count" data-testid="result-count">
          {answer.rows.length} row{answer.rows.length === 1 ? '' : 's'}
          <Timing answer={answer} />
          {fetching && <span className="spinner" aria-label="refreshing" />}
        </span>
      </div>
      {children(answer)}
    </div>
  );
}
