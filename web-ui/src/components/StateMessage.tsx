import { ApiError } from '../api/client';

/** Loading, empty and error states that tell the user what is going on and what to do next. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="state-message" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> Loading {what}…
    </div>
  );
}

export function Empty({ title, hint }: { title: string; hint: string }) {
  return (
    <div className="state-message empty" role="status">
      <strong>{title}</strong>
      <p>{hint}</p>
    </div>
  );
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const api = error instanceof ApiError ? error : null;
  const advice =
    api?.code === 'UNREACHABLE'
      ? 'Start Loupe with `npm start` (or `loupe up`) and retry.'
      : api?.code?.startsWith('SQL_') || api?.status === 400
        ? 'Fix the query and run it again.'
        : api?.status === 504 || api?.code === 'TIMEOUT'
          ? 'Narrow the time range or add filters, then retry.'
          : 'Retry; if it keeps failing, check the `loupe up` output.';
  return (
    <div className="state-message error" role="alert">
      <strong>{api ? `${api.code}: ${api.message}` : String((error as Error)?.message ?? error)}</strong>
      <p>{advice}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
