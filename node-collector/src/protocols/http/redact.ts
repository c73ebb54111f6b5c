/**
 * Header redaction. The parser applies it while it builds each message, so a sensitive value never reaches
 * the stitcher, the store or an export.
 */

export const REDACTED = '[REDACTED]';

/** Credentials and session tokens that commonly travel in headers. */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
];

export class HeaderRedactor {
  private readonly names: ReadonlySet<string>;

  /** @param extraNames more header names to redact, in any case. */
  constructor(extraNames: Iterable<string> = []) {
    const names = new Set(DEFAULT_SENSITIVE_HEADERS);
    for (const name of extraNames) names.add(name.trim().toLowerCase());
    this.names = names;
  }

  /** @param lowerCaseName a header name already lower-cased, as the parser keeps them. */
  isSensitive(lowerCaseName: string): boolean {
    return this.names.has(lowerCaseName);
  }
}
