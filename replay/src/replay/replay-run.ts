/**
 * One replay run: send every entry of a HAR to the target (lanes in parallel, each lane in recorded order),
 * optionally a second time to learn noise, then compare each replayed response with the recorded one.
 * Comparison waits until all responses are in, because a rule learned from any request of an endpoint applies
 * to every request of it.
 */

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Difference } from '../compare/difference.js';
import { NoiseRuleSet, type NoiseRule } from '../compare/noise-rules.js';
import { compareResponses, type ComparableResponse } from '../compare/response-comparison.js';
import type { ReplayConfig } from '../config/replay-config.js';
import { contentText, isRedacted, type Har, type HarEntry } from '../har/har.js';
import { endpointOf } from '../report/endpoint-pattern.js';
import { FailureBreaker } from './failure-breaker.js';
import { sendRequest, type SendOutcome } from './http-sender.js';
import { planLanes, runLanes, type Lane } from './lanes.js';
import { learnFromPair } from './learned-noise.js';
import { planRequest, type OutgoingRequest, type OutgoingRequestOptions } from './outgoing-request.js';
import { Pacer } from './pacer.js';
import type { Progress } from './progress.js';

export interface ReplayOptions extends OutgoingRequestOptions {
  concurrency: number;
  /** Requests per second across all lanes; undefined: as fast as the target answers. */
  ratePerSecond?: number;
  timeoutMs: number;
  learnNoise: boolean;
  config: ReplayConfig;
  progress?: Progress;
  /** Largest response body read (decoded); the rest is compared as cut. */
  maxBodyBytes?: number;
  /** Transport failures in a row after which the rest is not sent. */
  breakerThreshold?: number;
}

export type Verdict = 'passed' | 'failed' | 'error' | 'skipped';

export interface EntryResult {
  index: number;
  method: string;
  /** Path and query of the recorded request. */
  target: string;
  endpoint: string;
  verdict: Verdict;
  differences: Difference[];
  /** Differences found beyond the listed ones. */
  omittedDifferences: number;
  /** Why it is an error or was skipped. */
  reason?: string;
  recordedMs: number;
  replayedMs?: number;
}

export interface RuleUse {
  rule: NoiseRule;
  /** Differences this rule let through. */
  uses: number;
}

export interface ReplayReport {
  target: string;
  startedAt: string;
  durationMs: number;
  results: EntryResult[];
  rules: RuleUse[];
  /** Set when the run stopped sending early, and why. */
  stoppedEarly?: string;
}

/** Nothing listens at the target: reported before any request is sent. */
export class TargetUnreachableError extends Error {
  override readonly name = 'TargetUnreachableError';
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_BREAKER_THRESHOLD = 10;
/** Second-resolution timestamps must tick between the two replays of a request, or they are not learned. */
const MIN_LEARNING_GAP_MS = 1100;
/** Identical recorded requests compared with the first of their group: enough to see what varies. */
const RECORDED_PAIRS_PER_REQUEST = 5;

export function recordedResponse(entry: HarEntry): ComparableResponse {
  return {
    status: entry.response.status,
    headers: entry.response.headers.map((header) => ({
      name: header.name,
      value: header.value,
      redacted: isRedacted(header),
    })),
    body: contentText(entry.response.content),
    bodyTruncated: entry.response.content._truncated === true,
  };
}

function requestTarget(entry: HarEntry): string {
  try {
    const url = new URL(entry.request.url);
    return `${url.pathname}${url.search}`;
  } catch {
    return entry.request.url;
  }
}

/** Connects once to the target, so that a wrong port fails in a second with one clear message. */
export async function checkTargetReachable(target: URL, timeoutMs: number): Promise<void> {
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new TargetUnreachableError(`cannot connect to ${target.origin}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs} ms`));
    socket.once('error', (error) => fail(error.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

class Replayer {
  private readonly pacer: Pacer;
  private readonly breaker: FailureBreaker;
  private readonly sharedAgent: http.Agent;

  constructor(
    private readonly options: ReplayOptions,
    private readonly requests: ReadonlyMap<number, OutgoingRequest>,
  ) {
    this.pacer = new Pacer(options.ratePerSecond);
    this.breaker = new FailureBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD);
    this.sharedAgent = this.agent(options.concurrency);
  }

  get stoppedEarly(): string | undefined {
    return this.breaker.tripped;
  }

  private agent(maxSockets: number): http.Agent {
    const settings = { keepAlive: true, maxSockets };
    return this.options.target.protocol === 'https:' ? new https.Agent(settings) : new http.Agent(settings);
  }

  /** Sends every planned request once; outcomes by entry index (absent: not sent, the breaker tripped). */
  async pass(lanes: readonly Lane[], label: string): Promise<Map<number, SendOutcome>> {
    const outcomes = new Map<number, SendOutcome>();
    const total = lanes.reduce((sum, lane) => sum + lane.entries.length, 0);
    this.options.progress?.begin(label, total);
    await runLanes(lanes, this.options.concurrency, async (lane) => {
      // A recorded connection gets one connection of its own, so its requests follow each other on it.
      const agent = lane.connection === undefined ? this.sharedAgent : this.agent(1);
      try {
        for (const index of lane.entries) {
          if (this.breaker.tripped) return;
          await this.pacer.wait();
          const outcome = await sendRequest(this.requests.get(index) as OutgoingRequest, {
            target: this.options.target,
            agent,
            timeoutMs: this.options.timeoutMs,
            maxBodyBytes: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
          });
          outcomes.set(index, outcome);
          this.breaker.record(outcome.ok, outcome.ok ? undefined : outcome.error);
          this.options.progress?.advance(outcome.ok);
        }
      } finally {
        if (agent !== this.sharedAgent) agent.destroy();
      }
    });
    this.options.progress?.end();
    return outcomes;
  }

  close(): void {
    this.sharedAgent.destroy();
  }
}

function learnFromReplays(
  entries: readonly HarEntry[],
  first: ReadonlyMap<number, SendOutcome>,
  second: ReadonlyMap<number, SendOutcome>,
  compareHeaders: readonly string[],
): NoiseRule[] {
  const rules: NoiseRule[] = [];
  for (const [index, a] of first) {
    const b = second.get(index);
    if (!a.ok || !b?.ok) continue;
    const entry = entries[index] as HarEntry;
    const request = `${entry.request.method} ${requestTarget(entry)}`;
    const endpoint = endpointOf(entry.request.method, entry.request.url);
    const origin = `learned: differed between two replays of ${request}`;
    rules.push(...learnFromPair(endpoint, a.response, b.response, compareHeaders, origin));
  }
  return rules;
}

/** Identical recorded requests whose recorded responses differ teach the same as two replays do. */
function learnFromRecording(
  entries: readonly HarEntry[],
  included: readonly number[],
  compareHeaders: readonly string[],
): NoiseRule[] {
  const groups = new Map<string, number[]>();
  for (const index of included) {
    const { method, url, postData } = (entries[index] as HarEntry).request;
    const key = `${method} ${url}\n${postData?.text ?? ''}`;
    const group = groups.get(key) ?? [];
    if (group.length <= RECORDED_PAIRS_PER_REQUEST) group.push(index);
    groups.set(key, group);
  }
  const rules: NoiseRule[] = [];
  for (const [firstIndex, ...others] of groups.values()) {
    const first = entries[firstIndex as number] as HarEntry;
    const request = `${first.request.method} ${requestTarget(first)}`;
    const endpoint = endpointOf(first.request.method, first.request.url);
    const origin = `learned: differed between two recorded responses of ${request}`;
    for (const other of others) {
      const second = entries[other] as HarEntry;
      rules.push(
        ...learnFromPair(endpoint, recordedResponse(first), recordedResponse(second), compareHeaders, origin),
      );
    }
  }
  return rules;
}

export async function replayHar(har: Har, options: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const entries = har.log.entries;
  const requests = new Map<number, OutgoingRequest>();
  const skipped = new Map<number, string>();
  entries.forEach((entry, index) => {
    const planned = planRequest(entry, options);
    if ('skip' in planned) skipped.set(index, planned.skip);
    else requests.set(index, planned.send);
  });

  const rules = new NoiseRuleSet(options.config.noise);
  const replayer = new Replayer(options, requests);
  let first: Map<number, SendOutcome>;
  try {
    const lanes = planLanes(entries, (index) => requests.has(index));
    if (requests.size > 0) await checkTargetReachable(options.target, Math.min(options.timeoutMs, 5000));
    first = await replayer.pass(lanes, 'replay');
    if (options.learnNoise && requests.size > 0 && !replayer.stoppedEarly) {
      const wait = MIN_LEARNING_GAP_MS - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      const second = await replayer.pass(lanes, 'learning noise (second replay)');
      const compareHeaders = options.config.compareHeaders;
      for (const rule of learnFromReplays(entries, first, second, compareHeaders)) rules.add(rule);
      for (const rule of learnFromRecording(entries, [...requests.keys()], compareHeaders)) rules.add(rule);
    }
  } finally {
    replayer.close();
  }

  const results: EntryResult[] = entries.map((entry, index) => {
    const base = {
      index,
      method: entry.request.method,
      target: requestTarget(entry),
      endpoint: endpointOf(entry.request.method, entry.request.url),
      differences: [],
      omittedDifferences: 0,
      recordedMs: entry.time,
    };
    const skip = skipped.get(index);
    if (skip !== undefined) return { ...base, verdict: 'skipped', reason: skip };
    const outcome = first.get(index);
    if (outcome === undefined)
      return { ...base, verdict: 'skipped', reason: `not sent: ${replayer.stoppedEarly}` };
    if (!outcome.ok) return { ...base, verdict: 'error', reason: outcome.error };
    const found = compareResponses(recordedResponse(entry), outcome.response, {
      compareHeaders: options.config.compareHeaders,
      noise: rules.forEndpoint(base.endpoint),
    });
    return {
      ...base,
      verdict: found.count === 0 ? 'passed' : 'failed',
      differences: found.items,
      omittedDifferences: found.omitted,
      replayedMs: outcome.response.latencyMs,
    };
  });

  return {
    target: options.target.href,
    startedAt,
    durationMs: performance.now() - started,
    results,
    rules: rules.all.map((rule) => ({ rule, uses: rules.usesOf(rule) })),
    ...(replayer.stoppedEarly ? { stoppedEarly: replayer.stoppedEarly } : {}),
  };
}
