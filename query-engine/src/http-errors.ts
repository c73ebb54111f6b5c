/**
 * The JSON every API of Loupe answers errors with ({statusCode, code, error, message}), and the per-node part
 * of query answers: shared by the node API, the fragment route and the broker.
 */

import { STATUS_CODES } from 'node:http';
import type { NodeAnswer } from './api.js';

export const nodeAnswerSchema = {
  type: 'object',
  required: ['name', 'ok', 'rows', 'ms', 'error'],
  properties: {
    name: { type: 'string' },
    ok: { type: 'boolean' },
    rows: { type: 'integer' },
    ms: { type: 'number' },
    error: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['ok', 'error', 'timeout', 'down'] },
    truncated: { type: 'boolean' },
  },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    nodes: { type: 'array', items: nodeAnswerSchema },
  },
} as const;

export function errorBody(statusCode: number, code: string, message: string, nodes?: NodeAnswer[]) {
  return {
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(nodes ? { nodes } : {}),
  };
}
