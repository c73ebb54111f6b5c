/** The short summary `loupe replay` prints on stdout: totals, what failed and why, noise, latency change. */

import { describeRule } from '../compare/noise-rules.js';
import type { ReplayReport } from '../replay/replay-run.js';
import { formatChange, latencyByEndpoint } from './latency.js';
import { differenceLines, reportFacts, requestLabel } from './report-facts.js';

/** Requests listed per section; the HTML report and JUnit have all of them. */
const MAX_LISTED = 20;
const MAX_DIFFERENCES_PER_REQUEST = 5;

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('   ')
      .trimEnd(),
  );
}

export function summaryText(report: ReplayReport): string {
  const facts = reportFacts(report);
  const { counts } = facts;
  const lines = [
    `replayed ${facts.total} requests against ${report.target} in ${(report.durationMs / 1000).toFixed(2)} s`,
    `  passed ${counts.passed}, failed ${counts.failed}, errors ${counts.error}, skipped ${counts.skipped}`,
    `  noise: ${facts.rules} rules (${facts.learnedRules} learned), ${facts.ignoredDifferences} differences ignored by ${facts.rulesUsed} of them`,
  ];
  if (report.stoppedEarly) lines.push(`  stopped early: ${report.stoppedEarly}`);

  const section = (title: string, verdict: 'failed' | 'error' | 'skipped') => {
    const matching = report.results.filter((result) => result.verdict === verdict);
    if (matching.length === 0) return;
    lines.push('', `${title}:`);
    for (const result of matching.slice(0, MAX_LISTED)) {
      lines.push(`  ${requestLabel(result)}`);
      if (verdict !== 'failed') {
        lines.push(`      ${result.reason ?? ''}`);
        continue;
      }
      const details = differenceLines(result);
      for (const detail of details.slice(0, MAX_DIFFERENCES_PER_REQUEST)) lines.push(`      ${detail}`);
      if (details.length > MAX_DIFFERENCES_PER_REQUEST) {
        lines.push(`      ... ${details.length - MAX_DIFFERENCES_PER_REQUEST} more in the reports`);
      }
    }
    if (matching.length > MAX_LISTED) lines.push(`  ... and ${matching.length - MAX_LISTED} more`);
  };
  section('failed', 'failed');
  section('errors', 'error');
  section('skipped', 'skipped');

  const learned = report.rules.filter(({ rule }) => rule.origin.startsWith('learned:'));
  if (learned.length > 0) {
    lines.push('', 'learned noise:');
    for (const { rule, uses } of learned.slice(0, MAX_LISTED)) {
      lines.push(`  ${describeRule(rule)}: ${uses} ignored; ${rule.origin}`);
    }
    if (learned.length > MAX_LISTED) lines.push(`  ... and ${learned.length - MAX_LISTED} more`);
  }

  const latency = latencyByEndpoint(report.results);
  if (latency.length > 0) {
    lines.push('', 'latency, recorded → replayed:');
    const rows = [['endpoint', 'n', 'p50', 'p99']];
    for (const change of latency) {
      rows.push([
        change.endpoint,
        String(change.count),
        formatChange(change.recorded.p50, change.replayed.p50),
        formatChange(change.recorded.p99, change.replayed.p99),
      ]);
    }
    lines.push(...table(rows).map((line) => `  ${line}`));
  }
  return lines.join('\n') + '\n';
}
