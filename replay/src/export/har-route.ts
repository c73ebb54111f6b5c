/**
 * POST /api/v1/export/har at the broker: what `loupe export har` writes, as a download (the UI's "Export as
 * HAR"). Same filter, same bounds, same SQL; the query runs in process through the broker's engine.
 */

import type { FastifyPluginAsync } from 'fastify';
import { errorBody, errorSchema } from '@loupe/query-engine/dist/src/api.js';
import type { BrokerExtension } from '@loupe/query-engine/dist/src/broker/broker-service.js';
import { QueryError } from '@loupe/query-engine/dist/src/sql-guard.js';
import { parseDurationMs } from '../cli/durations.js';
import { exportHar, MAX_EXPORT_ENTRIES, DEFAULT_EXPORT_LIMIT } from './export-har.js';

interface HarExportBody {
  service?: string;
  where?: string;
  since?: string;
  limit?: number;
  role?: 'server' | 'client';
}

const harExportSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    anyOf: [{ required: ['service'] }, { required: ['where'] }],
    properties: {
      service: { type: 'string', minLength: 1, maxLength: 300 },
      where: { type: 'string', minLength: 1, maxLength: 10_000 },
      since: { type: 'string', maxLength: 20 },
      limit: { type: 'integer', minimum: 1, maximum: MAX_EXPORT_ENTRIES },
      role: { type: 'string', enum: ['server', 'client'] },
    },
  },
  response: { '4xx': errorSchema, '5xx': errorSchema },
} as const;

export const harExportExtension: BrokerExtension = (source) => {
  const routes: FastifyPluginAsync = async (app) => {
    app.post<{ Body: HarExportBody }>('/export/har', { schema: harExportSchema }, async (request, reply) => {
      const body = request.body;
      let since: Date | undefined;
      if (body.since !== undefined) {
        const ms = parseDurationMs(body.since);
        if (ms === undefined) {
          return reply
            .code(400)
            .send(errorBody(400, 'BAD_REQUEST', `since: not a duration like 15m or 1h: ${body.since}`));
        }
        since = new Date(Date.now() - ms);
      }
      try {
        const har = await exportHar({
          source,
          role: body.role ?? 'server',
          service: body.service,
          where: body.where,
          since,
          limit: body.limit ?? DEFAULT_EXPORT_LIMIT,
        });
        return reply
          .header('content-disposition', 'attachment; filename="loupe-export.har"')
          .type('application/json; charset=utf-8')
          .send(JSON.stringify(har));
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        return reply.code(error.statusCode).send(errorBody(error.statusCode, error.code, error.message));
      }
    });
  };
  return routes;
};
