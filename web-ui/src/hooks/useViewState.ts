import { useCallback, useEffect, useState } from 'react';
import { formatViewState, parseViewState, type ViewState } from '../domain/url-state';

const read = () => parseViewState(window.location.pathname, window.location.search);

/**
 * The URL as React state. `push` makes a history entry (changing view, opening a detail); `replace` does not
 * (typing in a filter), so Back goes where the user expects.
 */
export function useViewState(): {
  state: ViewState;
  push: (next: ViewState) => void;
  replace: (next: ViewState) => void;
} {
  const [state, setState] = useState<ViewState>(read);
  useEffect(() => {
    const onPop = () => setState(read());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const push = useCallback((next: ViewState) => {
    const url = formatViewState(next);
    if (url !== window.location.pathname + window.location.search) window.history.pushState(null, '', url);
    setState(next);
  }, []);
  const replace = useCallback((next: ViewState) => {
    window.history.replaceState(null, '', formatViewState(next));
    setState(next);
  }, []);
  return { state, push, replace };
}
