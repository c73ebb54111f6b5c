/**
 * Noise rules: differences that are expected between a recording and a replay (timestamps, ids, tokens) and
 * must not fail it. Rules come from replay.yaml or are learned from two replays; each keeps where it came from,
 * so a report can say why a difference was let through. A rule may be scoped to one endpoint ("GET /orders/:id");
 * learned rules always are.
 */

import { PathPattern, type PathSegment } from './json-path.js';

interface RuleBase {
  /** `METHOD /path/pattern` as endpointOf() writes it; absent: every endpoint. */
  endpoint?: string;
  /** Where the rule came from: "replay.yaml", "learned: differed between two replays of GET /orders". */
  origin: string;
}

export type NoiseRule =
  | (RuleBase & { kind: 'ignore-header'; header: string })
  | (RuleBase & { kind: 'ignore-path'; path: string })
  | (RuleBase & { kind: 'ignore-regex'; regex: string })
  | (RuleBase & { kind: 'tolerance'; path: string; absolute?: number; relative?: number })
  | (RuleBase & { kind: 'type-only'; path: string });

export function describeRule(rule: NoiseRule): string {
  const scope = rule.endpoint ? ` (${rule.endpoint})` : '';
  switch (rule.kind) {
    case 'ignore-header':
      return `ignore header ${rule.header}${scope}`;
    case 'ignore-path':
      return `ignore ${rule.path}${scope}`;
    case 'ignore-regex':
      return `ignore text matching /${rule.regex}/${scope}`;
    case 'tolerance': {
      const bounds = [
        rule.absolute === undefined ? '' : `±${rule.absolute}`,
        rule.relative === undefined ? '' : `±${rule.relative * 100}%`,
      ].filter(Boolean);
      return `tolerate ${bounds.join(' or ')} on ${rule.path}${scope}`;
    }
    case 'type-only':
      return `only the type of ${rule.path}${scope}`;
  }
}

/** The same rule twice (from config and learned, or learned from two requests) is kept once. */
export function ruleKey(rule: NoiseRule): string {
  const what =
    rule.kind === 'ignore-header'
      ? rule.header.toLowerCase()
      : rule.kind === 'ignore-regex'
        ? rule.regex
        : rule.kind === 'tolerance'
          ? `${rule.path} ${rule.absolute} ${rule.relative}`
          : rule.path;
  return `${rule.kind}\u0000${rule.endpoint ?? ''}\u0000${what}`;
}

interface CompiledPathRule {
  rule: NoiseRule;
  pattern: PathPattern;
}

interface CompiledRegexRule {
  rule: NoiseRule;
  regex: RegExp;
}

/**
 * The rules that apply to one endpoint, ready to ask during a diff. Every question that finds a rule records
 * the use on the rule set, which is how reports count ignored differences per rule.
 */
export class EndpointNoise {
  constructor(
    private readonly uses: Map<NoiseRule, number>,
    private readonly headers: Map<string, NoiseRule>,
    private readonly ignored: readonly CompiledPathRule[],
    private readonly tolerances: readonly CompiledPathRule[],
    private readonly typeOnly: readonly CompiledPathRule[],
    private readonly regexes: readonly CompiledRegexRule[],
  ) {}

  private used(rule: NoiseRule): NoiseRule {
    this.uses.set(rule, (this.uses.get(rule) ?? 0) + 1);
    return rule;
  }

  /** A rule that ignores this header's differences. */
  ignoresHeader(name: string): NoiseRule | undefined {
    const rule = this.headers.get(name.toLowerCase());
    return rule && this.used(rule);
  }

  /** A rule that ignores differences at or under `path`. */
  ignoresPath(path: readonly PathSegment[]): NoiseRule | undefined {
    const hit = this.ignored.find((candidate) => candidate.pattern.covers(path));
    return hit && this.used(hit.rule);
  }

  /** A rule under which only the JSON type at `path` is compared. */
  typeOnlyAt(path: readonly PathSegment[]): NoiseRule | undefined {
    const hit = this.typeOnly.find((candidate) => candidate.pattern.matches(path));
    return hit && this.used(hit.rule);
  }

  /** A tolerance rule at `path` within which `expected` and `actual` count as equal. */
  tolerates(path: readonly PathSegment[], expected: number, actual: number): NoiseRule | undefined {
    const delta = Math.abs(expected - actual);
    const scale = Math.max(Math.abs(expected), Math.abs(actual));
    const hit = this.tolerances.find((candidate) => {
      if (candidate.rule.kind !== 'tolerance' || !candidate.pattern.matches(path)) return false;
      const { absolute, relative } = candidate.rule;
      return (
        (absolute !== undefined && delta <= absolute) || (relative !== undefined && delta <= relative * scale)
      );
    });
    return hit && this.used(hit.rule);
  }

  get hasRegexes(): boolean {
    return this.regexes.length > 0;
  }

  /** Both texts with every regex rule's matches replaced by one placeholder; the rules that matched. */
  mask(expected: string, actual: string): { expected: string; actual: string; rules: NoiseRule[] } {
    const rules: NoiseRule[] = [];
    let maskedExpected = expected;
    let maskedActual = actual;
    for (const { rule, regex } of this.regexes) {
      const nextExpected = maskedExpected.replace(regex, '\u0000');
      const nextActual = maskedActual.replace(regex, '\u0000');
      if (nextExpected !== maskedExpected || nextActual !== maskedActual) rules.push(rule);
      maskedExpected = nextExpected;
      maskedActual = nextActual;
    }
    return { expected: maskedExpected, actual: maskedActual, rules };
  }

  /** Records that `rules` let a difference through (for masks, whose equality is decided by the caller). */
  credit(rules: readonly NoiseRule[]): void {
    for (const rule of rules) this.used(rule);
  }
}

/** All rules of a run. Compiles each endpoint's view once and counts how often each rule was used. */
export class NoiseRuleSet {
  private readonly rules: NoiseRule[] = [];
  private readonly keys = new Set<string>();
  private readonly uses = new Map<NoiseRule, number>();
  private readonly views = new Map<string, EndpointNoise>();

  constructor(rules: readonly NoiseRule[] = []) {
    for (const rule of rules) this.add(rule);
  }

  /** Adds a rule unless an equal one is there; throws on a bad path or regex. Returns whether it was added. */
  add(rule: NoiseRule): boolean {
    const key = ruleKey(rule);
    if (this.keys.has(key)) return false;
    if ('path' in rule) PathPattern.parse(rule.path);
    if (rule.kind === 'ignore-regex') new RegExp(rule.regex, 'g');
    this.keys.add(key);
    this.rules.push(rule);
    this.views.clear();
    return true;
  }

  get all(): readonly NoiseRule[] {
    return this.rules;
  }

  /** How many differences each rule let through so far. */
  usesOf(rule: NoiseRule): number {
    return this.uses.get(rule) ?? 0;
  }

  forEndpoint(endpoint: string): EndpointNoise {
    let view = this.views.get(endpoint);
    if (!view) {
      const applicable = this.rules.filter(
        (rule) => rule.endpoint === undefined || rule.endpoint === endpoint,
      );
      const paths = (kind: NoiseRule['kind']) =>
        applicable
          .filter((rule) => rule.kind === kind)
          .map((rule) => ({ rule, pattern: PathPattern.parse((rule as { path: string }).path) }));
      const headers = new Map<string, NoiseRule>();
      for (const rule of applicable)
        if (rule.kind === 'ignore-header') headers.set(rule.header.toLowerCase(), rule);
      const regexes = applicable.flatMap((rule) =>
        rule.kind === 'ignore-regex' ? [{ rule, regex: new RegExp(rule.regex, 'g') }] : [],
      );
      view = new EndpointNoise(
        this.uses,
        headers,
        paths('ignore-path'),
        paths('tolerance'),
        paths('type-only'),
        regexes,
      );
      this.views.set(endpoint, view);
    }
    return view;
  }
}
