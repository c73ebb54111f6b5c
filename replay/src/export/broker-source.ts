/** A QuerySource that asks a broker (or a collector's own API) over HTTP, as `loupe query` does. */

import {
  callBroker,
  describeBrokerError,
  type CliIo,
} from '@loupe/query-engine/dist/src/cli/query-command.js';
import { errorMessage } from '../cli/cli-io.js';
import type { QuerySource } from './export-har.js';

/** The broker refused or failed a query; `badInput` when the SQL (the user's --where) was at fault. */
export class BrokerQueryError extends Error {
  override readonly name = 'BrokerQueryError';
  constructor(
    message: string,
    readonly badInput: boolean,
  ) {
    super(message);
  }
}

function isRowsAnswer(body: unknown): body is { rows: Record<string, unknown>[]; truncated?: boolean } {
  return typeof body === 'object' && body !== null && Array.isArray((body as { rows?: unknown }).rows);
}

export function brokerQuerySource(io: CliIo, broker: string): QuerySource {
  return {
    async run(sql) {
      let reply;
      try {
        reply = await callBroker(io, broker, '/api/v1/query', { sql });
      } catch (error) {
        throw new BrokerQueryError(`cannot reach ${broker}: ${errorMessage(error)}`, false);
      }
      if (reply.status !== 200) {
        const { code, message } = describeBrokerError(reply);
        const badInput = code.startsWith('SQL_') || code === 'BAD_REQUEST' || code === 'QUERY_FAILED';
        throw new BrokerQueryError(`${code}: ${message}`, badInput);
      }
      if (!isRowsAnswer(reply.body)) throw new BrokerQueryError(`unexpected answer from ${broker}`, false);
      return { rows: reply.body.rows, truncated: reply.body.truncated === true };
    },
  };
}
