/** Text bodies: equal after masking the regex noise rules, or the first line that differs. */

import { DifferenceList, shownValue } from './difference.js';
import type { EndpointNoise } from './noise-rules.js';

export function diffText(expected: string, actual: string, noise: EndpointNoise, out: DifferenceList): void {
  if (expected === actual) return;
  const masked = noise.mask(expected, actual);
  if (masked.expected === masked.actual) {
    noise.credit(masked.rules);
    return;
  }
  const expectedLines = masked.expected.split('\n');
  const actualLines = masked.actual.split('\n');
  const originalExpected = expected.split('\n');
  const originalActual = actual.split('\n');
  for (let i = 0; i < Math.max(expectedLines.length, actualLines.length); i++) {
    if (expectedLines[i] === actualLines[i]) continue;
    const path = `line ${i + 1}`;
    if (i >= actualLines.length) {
      out.add({ where: 'body', path, kind: 'removed', expected: shownValue(originalExpected[i]) });
    } else if (i >= expectedLines.length) {
      out.add({ where: 'body', path, kind: 'added', actual: shownValue(originalActual[i]) });
    } else {
      out.add({
        where: 'body',
        path,
        kind: 'changed',
        expected: shownValue(originalExpected[i]),
        actual: shownValue(originalActual[i]),
      });
    }
    return;
  }
}
