import { formatBytes } from '../../domain/format';
import { prettyBody } from '../../domain/pretty-body';

/** A captured body: pretty JSON when it parses, text otherwise, and a visible mark where capture cut it. */
export function BodyBlock({
  title,
  body,
  size,
  truncated,
  testId,
}: {
  title: string;
  body: unknown;
  size: unknown;
  truncated: unknown;
  testId: string;
}) {
  const text = typeof body === 'string' ? body : '';
  const total = Number(size ?? 0);
  const pretty = prettyBody(text);
  return (
    <section className="rq-body">
      <h4>
        {title} <span className="muted">{formatBytes(total)}</span>
        {pretty.json && <span className="rq-badge">JSON</span>}
        {truncated === true && (
          <span className="rq-badge warn" data-testid={`${testId}-truncated`}>
            truncated: {formatBytes(new TextEncoder().encode(text).length)} of {formatBytes(total)} kept
          </span>
        )}
      </h4>
      {text === '' ? (
        <p className="muted">{total > 0 ? 'Not stored.' : 'Empty.'}</p>
      ) : (
        <pre data-testid={testId}>{pretty.text}</pre>
      )}
    </section>
  );
}
