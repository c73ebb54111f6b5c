import { useEffect, useState } from 'react';

/**
 * A local copy of a value the user edits (filters typed into inputs), committed after a pause in typing. When
 * the value changes from outside (Back, a link), the copy follows it.
 */
export function useDraft<T>(value: T, commit: (next: T) => void, delayMs = 350): [T, (next: T) => void] {
  const key = JSON.stringify(value);
  const [state, setState] = useState({ key, draft: value });
  let current = state;
  if (state.key !== key) {
    current = { key, draft: value };
    setState(current);
  }
  const draftKey = JSON.stringify(current.draft);
  useEffect(() => {
    if (draftKey === key) return;
    const timer = setTimeout(() => commit(JSON.parse(draftKey) as T), delayMs);
    return () => clearTimeout(timer);
  }, [draftKey, key, commit, delayMs]);
  return [current.draft, (draft: T) => setState({ key, draft })];
}
