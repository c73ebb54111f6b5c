/**
 * POST /api/v1/fragment on a collector: runs one fragment the broker planned and streams its rows back as Arrow
 * IPC. The SQL is guarded again here (QueryRunner.stream calls assertSelectOnly) and runs on the node's sealed
 * instance under its time limit: a collector trusts no broker more than it trusts a user.
 *
 * Errors found before the first byte (refused SQL, unknown column, busy) are JSON error answers with a code;
 * an error after streaming began (the time limit, say) cuts the connection, which the broker reports as that
 * node's failure.
 */

import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyPluginAsync } from 'fastify';
import type { DuckDBResult } from '@duckdb/node-api';
import { errorSchema } from '../http-errors.js';
import {
  ARROW_STREAM_CONTENT_TYPE,
  DEFAULT_FRAGMENT_CAPS,
  encodeResult,
  type FragmentCaps,
} from './fragment-wire.js';

/** QueryRunner satisfies this. */
export interface FragmentExecutor {
  stream<T>(sql: string, consume: (result: DuckDBResult) => Promise<T>): Promise<T>;
}

export interface FragmentRequest {
  sql: string;
  maxRows?: number;
  maxBytes?: number;
}

const fragmentSchema = {
  body: {
    type: 'object',
    required: ['sql'],
    additionalProperties: false,
    properties: {
      sql: { type: 'string', minLength: 1, maxLength: 200_000 },
      maxRows: { type: 'integer', minimum: 0 },
      maxBytes: { type: 'integer', minimum: 1 },
    },
  },
  response: { '4xx': errorSchema, '5xx': errorSchema },
} as const;

export function fragmentRoutes(
  executor: FragmentExecutor,
  limits: FragmentCaps = DEFAULT_FRAGMENT_CAPS,
  log: (message: string) => void = () => undefined,
): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: FragmentRequest }>('/fragment', { schema: fragmentSchema }, async (request, reply) => {
      // The broker asks for its caps; the node never goes past its own.
      const caps: FragmentCaps = {
        maxRows: Math.min(request.body.maxRows ?? limits.maxRows, limits.maxRows),
        maxBytes: Math.min(request.body.maxBytes ?? limits.maxBytes, limits.maxBytes),
      };
      let streaming = false;
      try {
        await executor.stream(request.body.sql, async (result) => {
          const body = Readable.from(encodeResult(result, caps), { objectMode: false });
          streaming = true;
          reply.header('content-type', ARROW_STREAM_CONTENT_TYPE).send(body);
          await finished(body);
        });
      } catch (error) {
        if (!streaming) throw error;
        // Headers are gone: the cut connection tells the broker; the node's log says why.
        log(`fragment stopped while streaming: ${(error as Error).message}`);
        reply.raw.destroy();
      }
      return reply;
    });
  };
}
