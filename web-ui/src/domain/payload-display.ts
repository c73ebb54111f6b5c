/**
 * Headers and bodies of a captured request as the detail pane shows them: JSON bodies indented, other bodies as
 * they are, headers as name/value pairs with the ones the collector redacted marked as such.
 */
import { toNumber } from './format.js';

/** What the collector stores in place of a sensitive header's value (node-collector's redact.ts). */
export const REDACTED_VALUE = '[REDACTED]';

export interface HeaderLine {
  name: string;
  value: string;
  redacted: boolean;
}

/** Header JSON arrives parsed (an object) or, from older answers, as its text. */
export function headerLines(headers: unknown): HeaderLine[] {
  let value = headers;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return [];
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).map(([name, raw]) => {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    return { name, value: text, redacted: text === REDACTED_VALUE };
  });
}

export interface BodyView {
  kind: 'json' | 'text' | 'empty';
  text: string;
}

/** JSON is indented when the stored body parses as a whole; a cut JSON body does not, and stays as text. */
export function bodyView(body: unknown): BodyView {
  if (body === null || body === undefined || body === '') return { kind: 'empty', text: '' };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2) };
    } catch {
      // Not JSON after all (or cut short): shown as captured.
    }
  }
  return { kind: 'text', text };
}

/**
 * "truncated at 8,192 of 59,791 bytes" when the stored body is not the whole body, else null. The stored length is
 * counted in UTF-8 bytes, as the collector cut it.
 */
export function truncationNote(body: unknown, size: unknown, truncated: unknown): string | null {
  if (truncated !== true) return null;
  const stored = typeof body === 'string' ? new TextEncoder().encode(body).length : 0;
  const total = toNumber(size);
  const bytes = (n: number) => n.toLocaleString('en-US');
  return `truncated at ${bytes(stored)} of ${total === null ? 'an unknown number of' : bytes(total)} bytes`;
}
