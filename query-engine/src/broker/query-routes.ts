/**
 * POST /api/v1/query at the broker: `{"sql": ...}` or `{"script": name, "params": {...}}`, answered with the
 * same JSON as a node's API plus each node's status ('ok', 'error', 'timeout', 'down') and truncation flag.
 */

import type { FastifyPluginAsync } from 'fastify';
import { errorBody, errorSchema, queryResponseSchema, type QueryResponse } from '../api.js';
import type { ScriptLibrary } from '../scripts/script-library.js';
import { QueryError } from '../sql-guard.js';
import type { DistributedEngine, QueryRequest } from './distributed-engine.js';

interface QueryBody {
  sql?: string;
  script?: string;
  params?: Record<string, string | number | boolean>;
}

const querySchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    oneOf: [{ required: ['sql'] }, { required: ['script'] }],
    properties: {
      sql: { type: 'string', minLength: 1, maxLength: 100_000 },
      script: { type: 'string', minLength: 1, maxLength: 200 },
      params: {
        type: 'object',
        maxProperties: 50,
        additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
      },
    },
  },
  response: { 200: queryResponseSchema, '4xx': errorSchema, '5xx': errorSchema },
} as const;

export function queryRoutes(engine: DistributedEngine, scripts: ScriptLibrary): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: QueryBody }>('/query', { schema: querySchema }, async (request, reply) => {
      const body = request.body;
      if (body.params && body.script === undefined) {
        return reply.code(400).send(errorBody(400, 'BAD_REQUEST', 'params go with a script'));
      }
      try {
        const query: QueryRequest =
          body.script !== undefined
            ? scripts.resolve(body.script, body.params ?? {})
            : { sql: body.sql ?? '' };
        const answer = await engine.query(query);
        const response: QueryResponse = {
          columns: answer.columns,
          rows: answer.rows,
          nodes: answer.nodes,
          truncated: answer.truncated,
          timings: answer.timings,
        };
        return response;
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        return reply.code(error.statusCode).send(errorBody(error.statusCode, error.code, error.message));
      }
    });
  };
}
