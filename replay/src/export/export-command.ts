/**
 * `loupe export har`: captured exchanges of one service (or any predicate) written as a HAR 1.2 file.
 * Exit codes: 0 written, 1 the broker could not answer or the file could not be written, 2 bad usage or a
 * predicate the broker refused.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BROKER_URL, isValidBrokerUrl } from '@loupe/query-engine/dist/src/cli/query-command.js';
import { parseDurationMs } from '../cli/durations.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  errorMessage,
  replayProcessIo,
  type ReplayIo,
} from '../cli/cli-io.js';
import { BrokerQueryError, brokerQuerySource } from './broker-source.js';
import { DEFAULT_EXPORT_LIMIT, MAX_EXPORT_ENTRIES, exportHar } from './export-har.js';
import type { CaptureRole } from './export-query.js';

const HELP = `Usage: loupe export har [--broker URL] (--service NAME[:PORT] | --where SQL) [--since 1h]
                       [--limit N] [--role server|client] -o FILE.har

Writes captured HTTP exchanges as a HAR 1.2 file, oldest first, for \`loupe replay\` and \`loupe mock\`.

Options:
  --service NAME[:PORT]  rows of this process (http_events.process), optionally on one local port
  --where SQL            a predicate on http_events, e.g. "req_path LIKE '/api/%'" (with --service: both)
  --since DURATION       only exchanges of the last 500ms, 30s, 15m, 1h, 7d ...
  --limit N              most entries (default ${DEFAULT_EXPORT_LIMIT}, at most ${MAX_EXPORT_ENTRIES})
  --role server|client   server (default): requests the service answered; client: calls it made (for mocks)
  --broker URL           query engine to ask (default ${DEFAULT_BROKER_URL})
  -o, --output FILE      where to write the HAR; - for stdout
  -h, --help             show this help

Bodies cut at capture carry "_truncated": true and a comment; redacted headers keep the value [REDACTED] and
carry "_redacted": true. Entries carry "connection": entries with the same value shared one TCP connection.

Environment:
  LOUPE_TOKEN            sent as "Authorization: Bearer <token>"

Exit codes: 0 written, 1 the broker could not answer or the file could not be written, 2 bad usage.
`;

function usageError(io: ReplayIo, message: string): number {
  io.stderr(`loupe export: ${message}\nRun "loupe export har --help" for usage.\n`);
  return EXIT_USAGE;
}

/** Writes beside the target and renames, so an interrupted export never leaves half a HAR behind. */
async function writeFileAtomically(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(temporary, text);
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

export async function runExportCommand(argv: string[], io: ReplayIo = replayProcessIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        broker: { type: 'string' },
        service: { type: 'string' },
        where: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        role: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(io, errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  if (positionals[0] !== 'har' || positionals.length > 1) {
    return usageError(
      io,
      `expected the format "har"${positionals.length > 0 ? `, got "${positionals.join(' ')}"` : ''}`,
    );
  }
  if (values.service === undefined && values.where === undefined) {
    return usageError(io, 'say what to export: --service NAME or --where SQL');
  }
  if (values.service !== undefined && values.service.trim() === '')
    return usageError(io, '--service is empty');
  if (values.where !== undefined && values.where.trim() === '') return usageError(io, '--where is empty');
  if (values.output === undefined) return usageError(io, 'no output file: -o FILE.har (or -o - for stdout)');
  const broker = values.broker ?? DEFAULT_BROKER_URL;
  if (!isValidBrokerUrl(broker)) return usageError(io, `not an http(s) URL: ${broker}`);
  const role = values.role ?? 'server';
  if (role !== 'server' && role !== 'client')
    return usageError(io, `--role must be server or client, got ${role}`);
  let since: Date | undefined;
  if (values.since !== undefined) {
    const ms = parseDurationMs(values.since);
    if (ms === undefined) return usageError(io, `--since: not a duration like 15m or 1h: ${values.since}`);
    since = new Date(Date.now() - ms);
  }
  const limit = values.limit === undefined ? DEFAULT_EXPORT_LIMIT : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EXPORT_ENTRIES) {
    return usageError(io, `--limit must be a whole number from 1 to ${MAX_EXPORT_ENTRIES}`);
  }

  let har;
  try {
    har = await exportHar({
      source: brokerQuerySource(io, broker),
      role: role as CaptureRole,
      service: values.service,
      where: values.where,
      since,
      limit,
    });
  } catch (error) {
    io.stderr(`loupe export: ${errorMessage(error)}\n`);
    return error instanceof BrokerQueryError && error.badInput ? EXIT_USAGE : EXIT_FAILED;
  }
  const text = JSON.stringify(har, null, 2) + '\n';
  if (values.output === '-') {
    io.stdout(text);
  } else {
    try {
      await writeFileAtomically(values.output, text);
    } catch (error) {
      io.stderr(`loupe export: cannot write ${values.output}: ${errorMessage(error)}\n`);
      return EXIT_FAILED;
    }
  }
  const n = har.log.entries.length;
  io.stderr(
    `exported ${n} ${n === 1 ? 'entry' : 'entries'}${values.output === '-' ? '' : ` to ${values.output}`}\n`,
  );
  if (n === 0) io.stderr('warning: nothing matched; check --service (process name) or --where\n');
  return EXIT_OK;
}
