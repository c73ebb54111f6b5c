import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatViewState, navigate, parseViewState } from '../src/domain/url-state.js';
import { DEFAULT_RANGE } from '../src/domain/time-range.js';

describe('view state in the URL', () => {
  it('round-trips a whole view: path, range, live and the view’s own params', () => {
    const url = '/requests?range=1h&live=0&method=POST&selected=2026-11-28+10%3A00%3A00%7Cn1&status=5xx';
    const state = parseViewState('/requests', url.slice(url.indexOf('?')));
    assert.equal(state.view, 'requests');
    assert.deepEqual(state.range, { kind: 'relative', seconds: 3600 });
    assert.equal(state.live, false);
    assert.deepEqual(state.params, { method: 'POST', selected: '2026-11-28 10:00:00|n1', status: '5xx' });
    assert.equal(formatViewState(state), url);
  });

  it('falls back to the map and the default range on unknown or broken input', () => {
    const state = parseViewState('/no-such-view/x', '?range=banana');
    assert.equal(state.view, 'map');
    assert.deepEqual(state.range, DEFAULT_RANGE);
    assert.equal(state.live, true);
    assert.equal(formatViewState(state), '/map');
  });

  it('keeps absolute ranges exact', () => {
    const state = parseViewState('/sql', '?range=2026-11-28T10:00:00.000Z~2026-11-28T11:30:00.000Z');
    assert.equal(state.range.kind, 'absolute');
    assert.equal(
      formatViewState(state),
      '/sql?range=2026-11-28T10%3A00%3A00.000Z%7E2026-11-28T11%3A30%3A00.000Z',
    );
  });

  it('leaves empty params out, and navigating keeps the shared settings only', () => {
    const state = parseViewState('/requests', '?range=6h&path=%2Fapi&method=');
    assert.equal(formatViewState(state), '/requests?range=6h&path=%2Fapi');
    const next = navigate(state, 'service', { service: 'api:8080' });
    assert.equal(formatViewState(next), '/service?range=6h&service=api%3A8080');
  });
});
