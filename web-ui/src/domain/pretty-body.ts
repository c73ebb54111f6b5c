/** A body for reading: JSON indented when the whole text parses as JSON, anything else as it is. */
export function prettyBody(text: string): { text: string; json: boolean } {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return { text, json: false };
  try {
    return { text: JSON.stringify(JSON.parse(trimmed), null, 2), json: true };
  } catch {
    return { text, json: false };
  }
}

/** Headers as stored (a JSON object, or a JSON string of one), sorted by name; bad input gives none. */
export function headerList(value: unknown): [string, string][] {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return [];
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
  return Object.entries(parsed as Record<string, unknown>)
    .map(([name, v]): [string, string] => [name, Array.isArray(v) ? v.join(', ') : String(v)])
    .sort((a, b) => a[0].localeCompare(b[0]));
}
