/**
 * The whole view state lives in the URL, so any screen can be shared as a link and the back button works:
 * the path names the view, `range` and `live` are shared by all views, every other query key belongs to the
 * view (its filters, the selected service or edge, the script and its SQL).
 */
import { DEFAULT_RANGE, formatTimeRange, parseTimeRange, type TimeRange } from './time-range.js';

export const VIEWS = ['map', 'service', 'requests', 'sql', 'scripts', 'nodes'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface ViewState {
  view: ViewName;
  range: TimeRange;
  /** Refresh every few seconds. */
  live: boolean;
  params: Record<string, string>;
}

const SHARED_KEYS = new Set(['range', 'live']);

export function parseViewState(pathname: string, search: string): ViewState {
  const name = pathname.replace(/^\/+|\/+$/g, '').split('/')[0] ?? '';
  const view = (VIEWS as readonly string[]).includes(name) ? (name as ViewName) : 'map';
  const query = new URLSearchParams(search);
  const params: Record<string, string> = {};
  for (const [key, value] of query) if (!SHARED_KEYS.has(key)) params[key] = value;
  return {
    view,
    range: parseTimeRange(query.get('range') ?? '') ?? DEFAULT_RANGE,
    live: query.get('live') !== '0',
    params,
  };
}

/** Path and query for a state; defaults are left out so links stay short. */
export function formatViewState(state: ViewState): string {
  const query = new URLSearchParams();
  const range = formatTimeRange(state.range);
  if (range !== formatTimeRange(DEFAULT_RANGE)) query.set('range', range);
  if (!state.live) query.set('live', '0');
  for (const key of Object.keys(state.params).sort()) {
    const value = state.params[key];
    if (value !== undefined && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return `/${state.view}${text ? `?${text}` : ''}`;
}

/** The state after moving to another view: shared settings kept, the new view's own params given. */
export function navigate(state: ViewState, view: ViewName, params: Record<string, string> = {}): ViewState {
  return { ...state, view, params };
}
