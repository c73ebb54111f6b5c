/**
 * JUnit XML, the format CI systems show as test results: one testcase per replayed request, grouped by endpoint
 * (classname), with each failure's differences as its text and transport failures as errors.
 */

import type { EntryResult, ReplayReport } from '../replay/replay-run.js';
import { escapeMarkup } from './markup.js';
import { differenceLines, reportFacts, requestLabel } from './report-facts.js';

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function testcase(result: EntryResult): string {
  const open = `    <testcase classname="${escapeMarkup(result.endpoint)}" name="${escapeMarkup(requestLabel(result))}" time="${seconds(result.replayedMs)}"`;
  switch (result.verdict) {
    case 'passed':
      return `${open}/>`;
    case 'skipped':
      return `${open}>\n      <skipped message="${escapeMarkup(result.reason ?? '')}"/>\n    </testcase>`;
    case 'error':
      return `${open}>\n      <error type="ReplayError" message="${escapeMarkup(result.reason ?? '')}"/>\n    </testcase>`;
    case 'failed': {
      const lines = differenceLines(result);
      const count = result.differences.length + result.omittedDifferences;
      const message = `${count} ${count === 1 ? 'difference' : 'differences'}: ${lines[0] ?? ''}`;
      return (
        `${open}>\n      <failure type="ResponseMismatch" message="${escapeMarkup(message)}">` +
        `${escapeMarkup(lines.join('\n'))}</failure>\n    </testcase>`
      );
    }
  }
}

export function junitReport(report: ReplayReport): string {
  const facts = reportFacts(report);
  const counts = `tests="${facts.total}" failures="${facts.counts.failed}" errors="${facts.counts.error}" skipped="${facts.counts.skipped}"`;
  const time = seconds(report.durationMs);
  const name = escapeMarkup(`loupe replay ${report.target}`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="loupe replay" ${counts} time="${time}">`,
    `  <testsuite name="${name}" ${counts} time="${time}" timestamp="${escapeMarkup(report.startedAt.replace(/\.\d+Z$/, ''))}">`,
    ...report.results.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
