import type { ViewState } from '../domain/url-state';

/** What every view gets: the URL state, and the two ways to change it (see useViewState). */
export interface ViewProps {
  state: ViewState;
  push: (next: ViewState) => void;
  replace: (next: ViewState) => void;
}
