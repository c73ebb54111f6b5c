/**
 * `loupe replay FILE.har --target URL`: sends the recorded requests to a new build and compares its answers with
 * the recorded ones.
 *
 * Exit codes: 0 every replayed response agrees; 1 a response differs, a request failed (timeout, refused), or the
 * target cannot be reached at all; 2 bad usage or input (flags, unreadable or malformed HAR or config). An
 * unreachable target is 1, not 2: in CI it usually means the service under test did not come up, which is a
 * failed run, not a wrong command line.
 */

import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../cli/durations.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  errorMessage,
  replayProcessIo,
  type ReplayIo,
} from '../cli/cli-io.js';
import { ConfigError, DEFAULT_CONFIG, readReplayConfig, type ReplayConfig } from '../config/replay-config.js';
import { HarInputError, readHarFile } from '../har/har-file.js';
import { htmlReport } from '../report/html-report.js';
import { junitReport } from '../report/junit-report.js';
import { summaryText } from '../report/summary-text.js';
import { parseHeaderFlag } from './outgoing-request.js';
import { createProgress } from './progress.js';
import { TargetUnreachableError, replayHar, type ReplayReport } from './replay-run.js';

const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 256;
const MAX_RATE = 100_000;
const DEFAULT_TIMEOUT = '10s';

const HELP = `Usage: loupe replay FILE.har --target URL [options]

Sends each recorded request to URL and compares the answer with the recorded one: the status, chosen headers
(content-type unless the config says otherwise) and the body, field by field for JSON (paths like
$.items[2].price), by line for text. Requests recorded on one connection are sent in order on one connection;
connections run side by side.

Options:
  --target URL           where to send the requests (http or https; a path is put in front of every request's)
  --concurrency N        connections replayed at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENCY})
  --rate R[/s]           at most R requests per second in total
  --timeout DURATION     per request, e.g. 500ms, 10s (default ${DEFAULT_TIMEOUT})
  --header 'K: V'        add or replace a request header (repeatable), e.g. a fresh Authorization
  --rewrite-host         send Host: <target> instead of the recorded Host header
  --exclude-unsafe       send only GET, HEAD, OPTIONS and TRACE; skip the rest
  --learn-noise          replay everything twice: what differs between the two replays (and between identical
                         recorded requests) is noise, ignored per endpoint; the learned rules are listed.
                         Every request is sent twice, POSTs included: add --exclude-unsafe where that matters
  --config FILE          replay.yaml: compared headers and noise rules (ignore_header, ignore_path,
                         ignore_regex, tolerance, type_only; see replay/README.md)
  --junit FILE           write a JUnit XML report (one testcase per request)
  --report FILE          write a self-contained HTML report with every failure's differences
  -h, --help             show this help

Not replayed: headers redacted at capture, hop-by-hop headers, requests whose body was cut at capture.
After 10 failed requests in a row (timeouts, refused connections) the rest is not sent.

Exit codes: 0 all replayed responses agree, 1 differences or failed requests (or the target is unreachable),
2 bad usage or input.
`;

interface ParsedFlags {
  file: string;
  target: URL;
  concurrency: number;
  ratePerSecond?: number;
  timeoutMs: number;
  extraHeaders: [string, string][];
  rewriteHost: boolean;
  excludeUnsafe: boolean;
  learnNoise: boolean;
  configFile?: string;
  junitFile?: string;
  reportFile?: string;
}

class UsageError extends Error {}

function parseFlags(argv: string[]): ParsedFlags | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      target: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      header: { type: 'string', multiple: true },
      'rewrite-host': { type: 'boolean' },
      'exclude-unsafe': { type: 'boolean' },
      'learn-noise': { type: 'boolean' },
      config: { type: 'string' },
      junit: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'no HAR file given' : 'give one HAR file');
  if (values.target === undefined) throw new UsageError('no --target URL given');
  if (!URL.canParse(values.target)) throw new UsageError(`--target is not a URL: ${values.target}`);
  const target = new URL(values.target);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new UsageError(`--target must be http:// or https://, got ${target.protocol}`);
  }
  const concurrency = Number(values.concurrency ?? DEFAULT_CONCURRENCY);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`);
  }
  let ratePerSecond: number | undefined;
  if (values.rate !== undefined) {
    ratePerSecond = Number(values.rate.replace(/\/s$/, ''));
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0 || ratePerSecond > MAX_RATE) {
      throw new UsageError(`--rate must be a number of requests per second above 0, up to ${MAX_RATE}`);
    }
  }
  const timeoutMs = parseDurationMs(values.timeout ?? DEFAULT_TIMEOUT);
  if (timeoutMs === undefined)
    throw new UsageError(`--timeout: not a duration like 500ms or 10s: ${values.timeout}`);
  const extraHeaders = (values.header ?? []).map((text) => {
    const header = parseHeaderFlag(text);
    if (!header) throw new UsageError(`--header must look like 'Name: value', got ${JSON.stringify(text)}`);
    return header;
  });
  return {
    file: positionals[0] as string,
    target,
    concurrency,
    ratePerSecond,
    timeoutMs,
    extraHeaders,
    rewriteHost: values['rewrite-host'] === true,
    excludeUnsafe: values['exclude-unsafe'] === true,
    learnNoise: values['learn-noise'] === true,
    configFile: values.config,
    junitFile: values.junit,
    reportFile: values.report,
  };
}

async function writeReports(io: ReplayIo, flags: ParsedFlags, report: ReplayReport): Promise<boolean> {
  const outputs: [string | undefined, () => string][] = [
    [flags.junitFile, () => junitReport(report)],
    [flags.reportFile, () => htmlReport(report)],
  ];
  let ok = true;
  for (const [file, render] of outputs) {
    if (file === undefined) continue;
    try {
      await fs.writeFile(file, render());
    } catch (error) {
      io.stderr(`loupe replay: cannot write ${file}: ${errorMessage(error)}\n`);
      ok = false;
    }
  }
  return ok;
}

export async function runReplayCommand(argv: string[], io: ReplayIo = replayProcessIo): Promise<number> {
  let flags: ParsedFlags | 'help';
  try {
    flags = parseFlags(argv);
  } catch (error) {
    io.stderr(`loupe replay: ${errorMessage(error)}\nRun "loupe replay --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (flags === 'help') {
    io.stdout(HELP);
    return EXIT_OK;
  }

  let config: ReplayConfig = DEFAULT_CONFIG;
  let har;
  try {
    if (flags.configFile !== undefined) config = await readReplayConfig(flags.configFile);
    har = await readHarFile(flags.file);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof HarInputError)) throw error;
    io.stderr(`loupe replay: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (har.log.entries.length === 0) {
    io.stderr(`loupe replay: ${flags.file} has no entries; nothing to replay\n`);
    return EXIT_USAGE;
  }

  let report: ReplayReport;
  try {
    report = await replayHar(har, {
      target: flags.target,
      concurrency: flags.concurrency,
      ratePerSecond: flags.ratePerSecond,
      timeoutMs: flags.timeoutMs,
      extraHeaders: flags.extraHeaders,
      rewriteHost: flags.rewriteHost,
      excludeUnsafe: flags.excludeUnsafe,
      learnNoise: flags.learnNoise,
      config,
      progress: createProgress(io.stderr, io.stderrIsTTY),
    });
  } catch (error) {
    if (!(error instanceof TargetUnreachableError)) throw error;
    io.stderr(`loupe replay: ${error.message}; is the service under test running?\n`);
    return EXIT_FAILED;
  }
  io.stdout(summaryText(report));
  const written = await writeReports(io, flags, report);
  const allAgree = report.results.every(
    (result) => result.verdict === 'passed' || result.verdict === 'skipped',
  );
  return allAgree && written && !report.stoppedEarly ? EXIT_OK : EXIT_FAILED;
}
