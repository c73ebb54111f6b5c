/**
 * JSON paths as the reports print them (`$.items[2].price`, `$['odd key']`) and as noise rules write them, with
 * wildcards: `*` (one key or index: `$.items[*].id`, `$.meta.*`) and `..` (any depth: `$..requestId`).
 */

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** @param anyIndex write every index as [*] */
export function formatPath(segments: readonly PathSegment[], anyIndex = false): string {
  let text = '$';
  for (const segment of segments) {
    if (typeof segment === 'number') text += anyIndex ? '[*]' : `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += `.${segment}`;
    else text += `['${segment.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return text;
}

type PatternSegment =
  { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'any' } | { kind: 'descend' };

export class PathPatternError extends Error {
  override readonly name = 'PathPatternError';
}

/** Longest pattern accepted, and most `..` in one: matching backtracks over each `..`. */
const MAX_PATTERN_LENGTH = 1000;
const MAX_DESCENDS = 4;

export class PathPattern {
  private constructor(
    readonly source: string,
    private readonly segments: readonly PatternSegment[],
  ) {}

  static parse(source: string): PathPattern {
    const fail = (why: string): never => {
      throw new PathPatternError(`bad JSON path ${JSON.stringify(source)}: ${why}`);
    };
    if (source.length > MAX_PATTERN_LENGTH) fail(`longer than ${MAX_PATTERN_LENGTH} characters`);
    if (!source.startsWith('$')) fail('it must start with $');
    const segments: PatternSegment[] = [];
    let i = 1;
    while (i < source.length) {
      if (source.startsWith('..', i)) {
        segments.push({ kind: 'descend' });
        i += 2;
        if (source[i] === '[') continue;
        const name = /^(\*|[^.[\]]+)/.exec(source.slice(i))?.[1] ?? fail(`a name must follow .. at ${i}`);
        segments.push(name === '*' ? { kind: 'any' } : { kind: 'key', name });
        i += name.length;
      } else if (source[i] === '.') {
        const name = /^(\*|[^.[\]]+)/.exec(source.slice(i + 1))?.[1] ?? fail(`a name must follow . at ${i}`);
        segments.push(name === '*' ? { kind: 'any' } : { kind: 'key', name });
        i += 1 + name.length;
      } else if (source[i] === '[') {
        const rest = source.slice(i);
        const bracket = /^\[(?:(\*)|(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(rest);
        if (!bracket) fail(`expected [n], [*] or ['name'] at ${i}`);
        const [whole, star, index, single, double] = bracket as RegExpExecArray;
        if (star) segments.push({ kind: 'any' });
        else if (index !== undefined) segments.push({ kind: 'index', index: Number(index) });
        else segments.push({ kind: 'key', name: (single ?? double ?? '').replace(/\\(.)/g, '$1') });
        i += whole.length;
      } else {
        fail(`unexpected ${JSON.stringify(source[i])} at ${i}`);
      }
    }
    if (segments.filter((segment) => segment.kind === 'descend').length > MAX_DESCENDS) {
      fail(`more than ${MAX_DESCENDS} ".." in one path`);
    }
    return new PathPattern(source, segments);
  }

  /** The whole path matches. */
  matches(path: readonly PathSegment[]): boolean {
    return this.matchFrom(0, path, 0, false);
  }

  /** The path is the pattern's node or lies under it. */
  covers(path: readonly PathSegment[]): boolean {
    return this.matchFrom(0, path, 0, true);
  }

  private matchFrom(at: number, path: readonly PathSegment[], from: number, prefix: boolean): boolean {
    if (at === this.segments.length) return prefix || from === path.length;
    const segment = this.segments[at] as PatternSegment;
    if (segment.kind === 'descend') {
      for (let skip = from; skip <= path.length; skip++) {
        if (this.matchFrom(at + 1, path, skip, prefix)) return true;
      }
      return false;
    }
    if (from === path.length) return false;
    const actual = path[from] as PathSegment;
    const ok =
      segment.kind === 'any' ||
      (segment.kind === 'key' && actual === segment.name) ||
      (segment.kind === 'index' && actual === segment.index);
    return ok && this.matchFrom(at + 1, path, from + 1, prefix);
  }
}

/** The pattern that matches `path` at every index: what a learned rule keeps, since arrays grow and shrink. */
export function wildcardIndices(path: readonly PathSegment[]): string {
  return formatPath(path, true);
}
