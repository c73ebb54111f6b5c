/** Small HAR documents for tests, built the way `loupe export har` writes them. */
import type { Har, HarEntry, HarHeader } from '../../src/har/har.js';
import type { ReplayIo } from '../../src/cli/cli-io.js';

export interface EntrySpec {
  method?: string;
  url: string;
  requestHeaders?: HarHeader[];
  requestBody?: string;
  status?: number;
  responseHeaders?: HarHeader[];
  responseBody?: string;
  connection?: string;
  timeMs?: number;
}

export function entry(spec: EntrySpec): HarEntry {
  const url = new URL(spec.url);
  const body = spec.responseBody ?? '';
  const built: HarEntry = {
    startedDateTime: '2025-01-01T00:00:00.000Z',
    time: spec.timeMs ?? 1,
    request: {
      method: spec.method ?? 'GET',
      url: spec.url,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: spec.requestHeaders ?? [{ name: 'host', value: url.host }],
      queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
      headersSize: -1,
      bodySize: Buffer.byteLength(spec.requestBody ?? ''),
    },
    response: {
      status: spec.status ?? 200,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: spec.responseHeaders ?? [{ name: 'content-type', value: 'application/json' }],
      content: { size: Buffer.byteLength(body), mimeType: 'application/json', text: body },
      redirectURL: '',
      headersSize: -1,
      bodySize: Buffer.byteLength(body),
    },
    cache: {},
    timings: { send: 0, wait: spec.timeMs ?? 1, receive: 0 },
  };
  if (spec.requestBody !== undefined) {
    built.request.postData = { mimeType: 'application/json', text: spec.requestBody };
  }
  if (spec.connection !== undefined) built.connection = spec.connection;
  return built;
}

export function har(entries: HarEntry[]): Har {
  return { log: { version: '1.2', creator: { name: 'test', version: '0' }, entries } };
}

/** A ReplayIo that keeps what a command prints. */
export function captureIo(): ReplayIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    env: {},
    fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, init),
    stderrIsTTY: false,
  };
  return io;
}
