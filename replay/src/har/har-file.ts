/**
 * Reading a HAR file someone hands to `loupe replay` or `loupe mock`: bounded in size and entry count, and
 * refused with a message that says what is wrong and where, before any request is sent.
 */

import fs from 'node:fs/promises';
import type { Har } from './har.js';
import { validateHar } from './har-validator.js';

export interface HarFileLimits {
  /**
   * Largest file read. The whole file becomes one JavaScript string for JSON.parse, and V8 strings stop at
   * about 512 MiB of characters, so a limit at half of that leaves room and still fails with our own message.
   */
  maxBytes: number;
  /** Most entries replayed in one run: every response is kept until the end to learn noise and report. */
  maxEntries: number;
}

export const DEFAULT_HAR_LIMITS: HarFileLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 100_000 };

/** What was wrong with the input file; the commands turn it into exit code 2. */
export class HarInputError extends Error {
  override readonly name = 'HarInputError';
}

const PROBLEMS_SHOWN = 10;

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Parses and validates HAR text already in memory. */
export function parseHar(text: string, source: string, limits: HarFileLimits = DEFAULT_HAR_LIMITS): Har {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HarInputError(
      `${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const problems = validateHar(value);
  if (problems.length > 0) {
    const shown = problems.slice(0, PROBLEMS_SHOWN).map((problem) => `  ${problem.path}: ${problem.message}`);
    const more = problems.length > PROBLEMS_SHOWN ? [`  ... and more`] : [];
    throw new HarInputError(`${source} is not a valid HAR 1.2 file:\n${[...shown, ...more].join('\n')}`);
  }
  const har = value as Har;
  if (har.log.entries.length > limits.maxEntries) {
    throw new HarInputError(
      `${source} has ${har.log.entries.length} entries, more than the ${limits.maxEntries} one run takes; ` +
        'export fewer (loupe export har --limit N) or split the file',
    );
  }
  return har;
}

export async function readHarFile(file: string, limits: HarFileLimits = DEFAULT_HAR_LIMITS): Promise<Har> {
  let size: number;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new HarInputError(`${file} is not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof HarInputError) throw error;
    throw new HarInputError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (size > limits.maxBytes) {
    throw new HarInputError(
      `${file} is ${mebibytes(size)}, over the ${mebibytes(limits.maxBytes)} limit; export fewer entries`,
    );
  }
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new HarInputError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseHar(text, file, limits);
}
