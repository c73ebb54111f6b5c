/**
 * What the replay commands touch outside themselves. The query engine's CliIo (stdout, stderr, env, fetch) plus
 * whether stderr is a terminal, which decides between a redrawn progress bar and plain lines.
 */

import { processIo, type CliIo } from '@loupe/query-engine/dist/src/cli/query-command.js';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '@loupe/query-engine/dist/src/cli/query-command.js';

export interface ReplayIo extends CliIo {
  stderrIsTTY: boolean;
}

export const replayProcessIo: ReplayIo = { ...processIo, stderrIsTTY: process.stderr.isTTY === true };

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
