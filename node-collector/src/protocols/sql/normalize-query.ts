/**
 * Query normaliser: literals become `?`, comments go, whitespace folds, and lists of placeholders collapse, so that
 * the same statement with different values groups as one (`WHERE id = 7` and `WHERE id = 8` → `WHERE id = ?`).
 * A single left-to-right scan, no regular-expression backtracking: it runs on every captured statement.
 */

export type SqlDialect = 'pgsql' | 'mysql';

/** Statements longer than this are normalised on their prefix only (the rest is cut and marked). */
export const MAX_NORMALIZED_INPUT = 16 * 1024;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentChar = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || isDigit(c) || c === 95 || c === 36;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;

export function normalizeQuery(sql: string, dialect: SqlDialect): string {
  const text = sql.length > MAX_NORMALIZED_INPUT ? sql.slice(0, MAX_NORMALIZED_INPUT) : sql;
  const out = joinTokens(tokenize(text, dialect));
  return sql.length > MAX_NORMALIZED_INPUT ? `${out} …` : out;
}

/** Tokens with literals already replaced by `?`; comments and whitespace dropped. */
function tokenize(text: string, dialect: SqlDialect): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (isSpace(c)) {
      i++;
    } else if ((c === 45 && next === 45) || (c === 35 && dialect === 'mysql')) {
      while (i < n && text.charCodeAt(i) !== 10) i++; // -- or # comment to end of line
    } else if (c === 47 && next === 42) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === 39 || (c === 34 && dialect === 'mysql')) {
      i = skipQuoted(text, i, c, dialect === 'mysql');
      tokens.push('?');
    } else if ((c === 69 || c === 101) && next === 39 && dialect === 'pgsql') {
      i = skipQuoted(text, i + 1, 39, true); // E'...' with backslash escapes
      tokens.push('?');
    } else if (c === 36 && dialect === 'pgsql' && !isDigit(next)) {
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i, i + 64))?.[0];
      const close = tag === undefined ? -1 : text.indexOf(tag, i + tag.length);
      i = tag === undefined ? i + 1 : close < 0 ? n : close + tag.length;
      tokens.push(tag === undefined ? '$' : '?');
    } else if (isDigit(c) || (c === 46 && isDigit(next))) {
      i = skipNumber(text, i);
      // A sign in front of a number is part of the literal: `x + -5` and `x + 5` are one statement.
      if (isUnarySign(tokens)) tokens.pop();
      tokens.push('?');
    } else if (isIdentChar(c)) {
      // Identifiers, keywords and $1 placeholders; digits inside them (t1, col2) belong to them.
      let j = i + 1;
      while (j < n && isIdentChar(text.charCodeAt(j))) j++;
      tokens.push(text.slice(i, j));
      i = j;
    } else if (c === 34 || c === 96) {
      // Quoted identifiers stay: "Table" in PostgreSQL, `table` in MySQL.
      const end = skipQuoted(text, i, c, false);
      tokens.push(text.slice(i, end));
      i = end;
    } else {
      const two = text.slice(i, i + 2);
      const op = TWO_CHAR_OPERATORS.has(two) ? two : (text[i] ?? '');
      tokens.push(op);
      i += op.length;
    }
  }
  while (tokens[tokens.length - 1] === ';') tokens.pop();
  return collapsePlaceholderLists(tokens);
}

/** After these keywords a sign starts an operand; after other words (identifiers) it is an operator. */
const OPERAND_KEYWORDS = new Set(
  'select where and or not when then else limit offset by returning set values in between like is case on having'.split(
    ' ',
  ),
);

/** The last token is `+` or `-` in front of an operand rather than between two. */
function isUnarySign(tokens: readonly string[]): boolean {
  const sign = tokens[tokens.length - 1];
  if (sign !== '-' && sign !== '+') return false;
  const before = tokens[tokens.length - 2];
  if (before === undefined) return true;
  if (before === '?' || before === ')') return false;
  const first = before.charCodeAt(0);
  if (first === 34 || first === 96) return false; // a quoted identifier
  if (isIdentChar(first)) return OPERAND_KEYWORDS.has(before.toLowerCase());
  return true; // an operator, '(' or ','
}

const TWO_CHAR_OPERATORS = new Set(['<=', '>=', '<>', '!=', '::', '||', '->', '=>']);
const NO_SPACE_BEFORE = new Set([',', ')', '.', ';', '::']);
const NO_SPACE_AFTER = new Set(['(', '.', '::']);

/** One space between tokens, none inside parentheses or around dots: every spelling of a statement folds alike. */
function joinTokens(tokens: string[]): string {
  let out = '';
  let previous = '';
  for (const t of tokens) {
    if (out !== '' && !NO_SPACE_BEFORE.has(t) && !NO_SPACE_AFTER.has(previous)) out += ' ';
    out += t;
    previous = t;
  }
  return out;
}

function skipQuoted(text: string, start: number, quote: number, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (backslashEscapes && c === 92) {
      i += 2;
    } else if (c === quote) {
      if (text.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return text.length;
}

function skipNumber(text: string, start: number): number {
  let i = start;
  if (text.charCodeAt(i) === 48 && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    while (i < text.length && /[0-9a-fA-F]/.test(text[i] ?? '')) i++;
    return i;
  }
  while (i < text.length && (isDigit(text.charCodeAt(i)) || text[i] === '.')) i++;
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** `IN (?, ?, ?)` and `VALUES (?, ?), (?, ?)` become `IN (?)` and `VALUES (?)`: list length is not a new query. */
function collapsePlaceholderLists(tokens: string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    out.push(t);
    // ( ? , ? ... → ( ?
    while (
      out.length >= 4 &&
      out[out.length - 1] === '?' &&
      out[out.length - 2] === ',' &&
      out[out.length - 3] === '?' &&
      out[out.length - 4] === '('
    ) {
      out.length -= 2;
    }
    // (?) , (?) → (?)
    if (t === ')' && endsWithTwoGroups(out)) out.length -= 4;
  }
  return out;
}

const TWO_GROUPS = ['(', '?', ')', ',', '(', '?', ')'];

/** The tokens end in `(?),(?)`. Compared token by token: this runs after every `)` of every statement. */
function endsWithTwoGroups(tokens: readonly string[]): boolean {
  const from = tokens.length - TWO_GROUPS.length;
  if (from < 0) return false;
  for (let i = 0; i < TWO_GROUPS.length; i++) if (tokens[from + i] !== TWO_GROUPS[i]) return false;
  return true;
}
