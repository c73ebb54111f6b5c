/**
 * A self-contained HTML report: one file with inline CSS and no scripts or external assets, so it can be kept
 * as a CI artifact and opened anywhere. Every failure is listed with its field-level differences.
 */

import { describeRule } from '../compare/noise-rules.js';
import type { EntryResult, ReplayReport } from '../replay/replay-run.js';
import { formatChange, latencyByEndpoint } from './latency.js';
import { escapeMarkup as e } from './markup.js';
import { reportFacts, requestLabel } from './report-facts.js';

/** Failures shown in full; past this the page would be too large to open, and JUnit has them all. */
const MAX_DETAILED_FAILURES = 2000;
const MAX_LISTED_PASSES = 5000;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1d1f24; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #666; } code, td.mono { font-family: ui-monospace, monospace; font-size: 13px; }
.totals span { display: inline-block; padding: .3em .8em; margin: .5em .5em 0 0; border-radius: 4px; font-weight: 600; }
.passed { background: #e3f4e6; color: #1b6b2c; } .failed { background: #fde4e4; color: #9b1c1c; }
.error { background: #fff0d9; color: #8a4b00; } .skipped { background: #eceef2; color: #444; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f7f9; } td { word-break: break-word; }
.failure { border: 1px solid #f0c4c4; border-radius: 6px; padding: .2em 1em; margin: 1em 0; }
.failure h3 { font-size: 1em; margin: .6em 0 .2em; } .removed { color: #9b1c1c; } .added { color: #1b6b2c; }
`;

function differenceTable(result: EntryResult): string {
  const rows = result.differences.map(
    (d) =>
      `<tr><td>${e(d.where)}</td><td class="mono">${e(d.path)}</td><td>${e(d.kind)}${d.note ? ` (${e(d.note)})` : ''}</td>` +
      `<td class="mono removed">${e(d.expected ?? '')}</td><td class="mono added">${e(d.actual ?? '')}</td></tr>`,
  );
  if (result.omittedDifferences > 0) {
    rows.push(`<tr><td colspan="5">… and ${result.omittedDifferences} more differences</td></tr>`);
  }
  return `<table><tr><th>where</th><th>path</th><th>change</th><th>recorded</th><th>replayed</th></tr>${rows.join('')}</table>`;
}

function failuresSection(failures: readonly EntryResult[]): string {
  if (failures.length === 0) return '';
  const shown = failures
    .slice(0, MAX_DETAILED_FAILURES)
    .map(
      (result) =>
        `<div class="failure"><h3><code>${e(requestLabel(result))}</code></h3>` +
        `<div class="meta">endpoint <code>${e(result.endpoint)}</code></div>${differenceTable(result)}</div>`,
    );
  const more =
    failures.length > MAX_DETAILED_FAILURES
      ? `<p>… and ${failures.length - MAX_DETAILED_FAILURES} more failures (see the JUnit report).</p>`
      : '';
  return `<h2>Failures (${failures.length})</h2>${shown.join('')}${more}`;
}

function reasonsSection(title: string, results: readonly EntryResult[]): string {
  if (results.length === 0) return '';
  const rows = results.map(
    (result) => `<tr><td class="mono">${e(requestLabel(result))}</td><td>${e(result.reason ?? '')}</td></tr>`,
  );
  return `<h2>${e(title)} (${results.length})</h2><table><tr><th>request</th><th>why</th></tr>${rows.join('')}</table>`;
}

function noiseSection(report: ReplayReport): string {
  if (report.rules.length === 0) return '<h2>Noise rules</h2><p>None.</p>';
  const rows = report.rules.map(
    ({ rule, uses }) =>
      `<tr><td class="mono">${e(describeRule(rule))}</td><td>${e(rule.origin)}</td><td>${uses}</td></tr>`,
  );
  return `<h2>Noise rules (${report.rules.length})</h2><table><tr><th>rule</th><th>from</th><th>differences ignored</th></tr>${rows.join('')}</table>`;
}

function latencySection(report: ReplayReport): string {
  const changes = latencyByEndpoint(report.results);
  if (changes.length === 0) return '';
  const rows = changes.map(
    (change) =>
      `<tr><td class="mono">${e(change.endpoint)}</td><td>${change.count}</td>` +
      `<td>${e(formatChange(change.recorded.p50, change.replayed.p50))}</td>` +
      `<td>${e(formatChange(change.recorded.p99, change.replayed.p99))}</td></tr>`,
  );
  return `<h2>Latency, recorded → replayed</h2><table><tr><th>endpoint</th><th>requests</th><th>p50</th><th>p99</th></tr>${rows.join('')}</table>`;
}

function passedSection(passed: readonly EntryResult[]): string {
  if (passed.length === 0) return '';
  const items = passed
    .slice(0, MAX_LISTED_PASSES)
    .map((result) => `<li><code>${e(requestLabel(result))}</code></li>`)
    .join('');
  const more =
    passed.length > MAX_LISTED_PASSES ? `<li>… and ${passed.length - MAX_LISTED_PASSES} more</li>` : '';
  return `<h2>Passed (${passed.length})</h2><details><summary>show</summary><ul>${items}${more}</ul></details>`;
}

export function htmlReport(report: ReplayReport): string {
  const facts = reportFacts(report);
  const by = (verdict: EntryResult['verdict']) =>
    report.results.filter((result) => result.verdict === verdict);
  const totals = (['passed', 'failed', 'error', 'skipped'] as const)
    .map((verdict) => `<span class="${verdict}">${facts.counts[verdict]} ${verdict}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>loupe replay: ${facts.counts.failed + facts.counts.error} failing of ${facts.total}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Replay report</h1>
<div class="meta">${facts.total} requests against <code>${e(report.target)}</code>, started ${e(report.startedAt)}, took ${(report.durationMs / 1000).toFixed(1)} s</div>
<div class="totals">${totals}</div>
<p>${facts.ignoredDifferences} differences ignored as noise by ${facts.rulesUsed} of ${facts.rules} rules (${facts.learnedRules} learned).</p>
${report.stoppedEarly ? `<p class="error">Stopped early: ${e(report.stoppedEarly)}</p>` : ''}
${failuresSection(by('failed'))}
${reasonsSection('Errors', by('error'))}
${reasonsSection('Skipped', by('skipped'))}
${noiseSection(report)}
${latencySection(report)}
${passedSection(by('passed'))}
</body>
</html>
`;
}
