import { useEffect, useState } from 'react';
import { exportHar, type HarExportRequest } from '../../api/client';
import { ApiError } from '../../api/client';
import { formatBytes } from '../../domain/format';

type ExportState =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'done'; url: string; size: number }
  | { kind: 'failed'; message: string };

const FILE_NAME = 'loupe-export.har';

/** Asks the broker for the HAR file of the current filter and hands it to the browser as a download. */
export function ExportHarButton({
  request,
  disabledReason,
}: {
  request: HarExportRequest;
  disabledReason?: string;
}) {
  const [state, setState] = useState<ExportState>({ kind: 'idle' });
  const doneUrl = state.kind === 'done' ? state.url : null;
  // Object URLs hold the file in memory until revoked: one at a time.
  useEffect(() => () => (doneUrl ? URL.revokeObjectURL(doneUrl) : undefined), [doneUrl]);

  const run = async () => {
    setState({ kind: 'busy' });
    try {
      const blob = await exportHar(request);
      const url = URL.createObjectURL(blob);
      setState({ kind: 'done', url, size: blob.size });
      const link = document.createElement('a');
      link.href = url;
      link.download = FILE_NAME;
      link.click();
    } catch (error) {
      const message =
        error instanceof ApiError ? `${error.code}: ${error.message}` : `Export failed: ${String(error)}`;
      setState({ kind: 'failed', message });
    }
  };

  return (
    <div className="export-har">
      <button
        type="button"
        data-testid="export-har"
        disabled={state.kind === 'busy' || disabledReason !== undefined}
        aria-busy={state.kind === 'busy'}
        title={
          disabledReason ??
          `HTTP requests matching the filters, ${request.role ?? 'server'} side, as a HAR 1.2 file (at most ${request.limit ?? 10000} entries)`
        }
        onClick={() => void run()}
      >
        {state.kind === 'busy' ? (
          <>
            <span className="spinner" aria-hidden /> Exporting…
          </>
        ) : (
          'Export as HAR'
        )}
      </button>
      {state.kind === 'done' && (
        <a href={state.url} download={FILE_NAME} data-testid="export-har-link">
          {FILE_NAME} ({formatBytes(state.size)})
        </a>
      )}
      {state.kind === 'failed' && (
        <span className="status-error" role="alert" data-testid="export-har-error">
          {state.message}
        </span>
      )}
    </div>
  );
}
