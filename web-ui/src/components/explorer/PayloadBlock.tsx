import { bodyView, headerLines, truncationNote } from '../../domain/payload-display';
import { formatBytes } from '../../domain/format';

export function HeaderTable({ headers }: { headers: unknown }) {
  const lines = headerLines(headers);
  if (lines.length === 0) return <p className="ex-muted">No headers.</p>;
  return (
    <table className="data detail-headers">
      <tbody>
        {lines.map((line) => (
          <tr key={line.name}>
            <th scope="row" className="mono">
              {line.name}
            </th>
            <td className="mono">
              {line.redacted ? (
                <span className="redacted" title="Redacted by the collector: the value was never stored">
                  redacted
                </span>
              ) : (
                line.value
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A body as stored: JSON indented, text as is, with a visible mark when the store kept only part of it. */
export function PayloadBlock({
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
  const view = bodyView(body);
  const cut = truncationNote(body, size, truncated);
  return (
    <div className="payload" data-testid={testId}>
      <div className="payload-head">
        <span>
          {title} · {formatBytes(size)}
          {view.kind === 'json' ? ' · JSON' : ''}
        </span>
        {cut && (
          <strong className="payload-truncated" data-testid={`${testId}-truncated`}>
            {cut}
          </strong>
        )}
      </div>
      {view.kind === 'empty' ? (
        <p className="ex-muted">Empty.</p>
      ) : (
        <pre className="detail-pre" tabIndex={0}>
          {view.text}
          {cut ? '\n…' : ''}
        </pre>
      )}
    </div>
  );
}
