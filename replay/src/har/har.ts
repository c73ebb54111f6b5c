/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as Loupe writes and reads it. Fields starting with
 * `_` are custom fields, which the spec allows: they carry what a capture knows and a browser's HAR does not
 * (a body cut at capture, a redacted header value, the process that served the request).
 */

export const HAR_VERSION = '1.2';

/** Header value the collector stores instead of a secret (node-collector's redact.ts). */
export const REDACTED_VALUE = '[REDACTED]';

export interface HarNameValue {
  name: string;
  value: string;
  comment?: string;
}

export interface HarHeader extends HarNameValue {
  /** The value was replaced by [REDACTED] at capture: it must never be replayed or compared. */
  _redacted?: boolean;
}

export interface HarPostData {
  mimeType: string;
  text?: string;
  params?: HarNameValue[];
  comment?: string;
  /** Only the start of the body was captured: `text` is not the whole body. */
  _truncated?: boolean;
}

export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarNameValue[];
  headers: HarHeader[];
  queryString: HarNameValue[];
  postData?: HarPostData;
  headersSize: number;
  bodySize: number;
  comment?: string;
}

export interface HarContent {
  size: number;
  mimeType: string;
  text?: string;
  encoding?: string;
  compression?: number;
  comment?: string;
  _truncated?: boolean;
}

export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarNameValue[];
  headers: HarHeader[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
  comment?: string;
}

export interface HarTimings {
  blocked?: number;
  dns?: number;
  connect?: number;
  send: number;
  wait: number;
  receive: number;
  ssl?: number;
  comment?: string;
}

export interface HarEntry {
  pageref?: string;
  startedDateTime: string;
  /** Total elapsed time of the request in milliseconds. */
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, unknown>;
  timings: HarTimings;
  serverIPAddress?: string;
  /** Entries with the same value were sent over one TCP connection, in entry order. */
  connection?: string;
  comment?: string;
  _process?: string;
  _node?: string;
}

export interface HarCreator {
  name: string;
  version: string;
  comment?: string;
}

export interface HarLog {
  version: string;
  creator: HarCreator;
  browser?: HarCreator;
  pages?: unknown[];
  entries: HarEntry[];
  comment?: string;
}

export interface Har {
  log: HarLog;
}

/** Case-insensitive header lookup; the first one wins, as the collector joins repeated headers anyway. */
export function headerValue(headers: readonly HarHeader[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find((header) => header.name.toLowerCase() === wanted)?.value;
}

export function isRedacted(header: HarHeader): boolean {
  return header._redacted === true || header.value === REDACTED_VALUE;
}

/** The body's text, decoded from base64 when the HAR says so. */
export function contentText(content: HarContent): string {
  const text = content.text ?? '';
  return content.encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
}
