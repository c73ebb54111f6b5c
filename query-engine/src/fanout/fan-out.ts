/**
 * Sends every fragment to every node that is up, all at once, and loads the answers as they stream in. Each
 * node's part ends by the query's deadline: a node that has not finished by then is cut off and reported as
 * 'timeout', one that fails as 'error'; the rows a failed node had already sent are removed again, so the
 * answer is exactly "the nodes that answered", flagged partial, never a hang.
 */

import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import type { NodeAnswer } from '../api.js';
import type { FragmentPlan } from '../planner/query-planner.js';
import type { NodeTarget } from '../registry/node-registry.js';
import { ARROW_STREAM_CONTENT_TYPE, type FragmentCaps } from './fragment-wire.js';
import { loadFragment } from './fragment-loader.js';

export interface FanOutOptions {
  /** Date.now() by which every node must have answered. */
  deadline: number;
  caps: FragmentCaps;
  fetch?: typeof fetch;
}

export interface FanOutResult {
  answers: NodeAnswer[];
  /** Bytes received from all nodes, for the answer's accounting and the bench. */
  bytes: number;
}

/** A node's refusal or failure, with the code it answered. */
class NodeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function fetchFragment(
  node: NodeTarget,
  fragment: FragmentPlan,
  caps: FragmentCaps,
  signal: AbortSignal,
  fetchImpl: typeof fetch,
): Promise<AsyncIterable<Uint8Array>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: ARROW_STREAM_CONTENT_TYPE,
  };
  if (node.token) headers.authorization = `Bearer ${node.token}`;
  const response = await fetchImpl(`${node.url.replace(/\/+$/, '')}/api/v1/fragment`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ sql: fragment.sql, maxRows: caps.maxRows, maxBytes: caps.maxBytes }),
    signal,
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    let code = `HTTP_${response.status}`;
    let message = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { code?: string; message?: string };
      code = body.code ?? code;
      message = body.message ?? message;
    } catch {
      // Not our API's JSON (a proxy's page): the status says enough.
    }
    throw new NodeFailure(code, `${code}: ${message}`);
  }
  return response.body as unknown as AsyncIterable<Uint8Array>;
}

/** The node-name column of a fragment's table, to delete a failed node's rows by. */
function nodeColumn(fragment: FragmentPlan): string | undefined {
  return fragment.columns.find((column) => column.origin === 'node-name')?.name;
}

export async function fanOut(
  connection: DuckDBConnection,
  nodes: readonly NodeTarget[],
  fragments: readonly FragmentPlan[],
  tableTypes: ReadonlyMap<string, readonly DuckDBType[]>,
  options: FanOutOptions,
): Promise<FanOutResult> {
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const started = performance.now();
  let bytes = 0;

  const askNode = async (node: NodeTarget): Promise<NodeAnswer> => {
    const budgetMs = Math.max(1, options.deadline - Date.now());
    const timeout = AbortSignal.timeout(budgetMs);
    // One fragment failing stops the node's others, so none is still loading when its rows are removed.
    const failed = new AbortController();
    const signal = AbortSignal.any([timeout, failed.signal]);
    let rows = 0;
    let truncated = false;
    const outcomes = await Promise.allSettled(
      fragments.map(async (fragment) => {
        try {
          const body = await fetchFragment(node, fragment, options.caps, signal, fetchImpl);
          const types = tableTypes.get(fragment.table) ?? [];
          const loaded = await loadFragment(connection, fragment, types, node.name, body, options.caps);
          rows += loaded.rows;
          bytes += loaded.bytes;
          truncated ||= loaded.truncated;
        } catch (error) {
          failed.abort();
          throw error;
        }
      }),
    );
    const ms = round(performance.now() - started);
    const failure = outcomes.find(
      (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
    );
    if (!failure) return { name: node.name, ok: true, rows, ms, error: null, status: 'ok', truncated };
    const timedOut = timeout.aborted;
    return {
      name: node.name,
      ok: false,
      rows: 0,
      ms,
      error: timedOut
        ? `timeout: no complete answer within ${budgetMs} ms`
        : (failure.reason as Error).message,
      status: timedOut ? 'timeout' : 'error',
      truncated: false,
    };
  };

  const answers = await Promise.all(nodes.map(askNode));
  // A node that failed part-way may have sent some rows already: take them out, it counts as not answered.
  for (const answer of answers.filter((a) => !a.ok)) {
    for (const fragment of fragments) {
      const column = nodeColumn(fragment);
      if (column) {
        await connection.run(`DELETE FROM temp.main."${fragment.table}" WHERE "${column}" = $1`, [
          answer.name,
        ]);
      }
    }
  }
  return { answers, bytes };
}
