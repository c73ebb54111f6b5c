/** The counts every report shows, computed once from a replay report. */

import { describeDifference } from '../compare/difference.js';
import type { EntryResult, ReplayReport, Verdict } from '../replay/replay-run.js';

export interface ReportFacts {
  total: number;
  counts: Record<Verdict, number>;
  rules: number;
  learnedRules: number;
  /** Differences noise rules let through. */
  ignoredDifferences: number;
  /** Rules that let at least one difference through. */
  rulesUsed: number;
}

export function isLearned(origin: string): boolean {
  return origin.startsWith('learned:');
}

export function reportFacts(report: ReplayReport): ReportFacts {
  const counts: Record<Verdict, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const result of report.results) counts[result.verdict] += 1;
  return {
    total: report.results.length,
    counts,
    rules: report.rules.length,
    learnedRules: report.rules.filter(({ rule }) => isLearned(rule.origin)).length,
    ignoredDifferences: report.rules.reduce((sum, { uses }) => sum + uses, 0),
    rulesUsed: report.rules.filter(({ uses }) => uses > 0).length,
  };
}

/** The request as people read it: `#12 POST /orders?dry=1`. */
export function requestLabel(result: EntryResult): string {
  return `#${result.index + 1} ${result.method} ${result.target}`;
}

/** A failure's differences as lines of text, for JUnit bodies and the terminal. */
export function differenceLines(result: EntryResult): string[] {
  const lines = result.differences.map(describeDifference);
  if (result.omittedDifferences > 0) lines.push(`... and ${result.omittedDifferences} more differences`);
  return lines;
}
