/** GET /api/v1/scripts: the bundled scripts with their parameters and widgets (SQL included, for reading). */

import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../api.js';
import type { ScriptLibrary } from './script-library.js';

const scriptsSchema = {
  response: {
    200: {
      type: 'object',
      required: ['scripts'],
      properties: {
        scripts: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'title', 'description', 'params', 'widgets', 'sql'],
            properties: {
              name: { type: 'string' },
              title: { type: 'string' },
              description: { type: 'string' },
              params: { type: 'array', items: { type: 'object', additionalProperties: true } },
              widgets: { type: 'array', items: { type: 'object', additionalProperties: true } },
              sql: { type: 'string' },
            },
          },
        },
      },
    },
    '4xx': errorSchema,
  },
} as const;

export function scriptRoutes(scripts: ScriptLibrary): FastifyPluginAsync {
  return async (app) => {
    app.get('/scripts', { schema: scriptsSchema }, async () => ({ scripts: scripts.list() }));
  };
}
