import { useSyncExternalStore } from 'react';

/**
 * The theme the shell wrote on <html data-theme>. Canvas charts cannot use CSS variables directly, so they
 * redraw with the resolved colours whenever this changes.
 */
function subscribe(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  return () => observer.disconnect();
}

const snapshot = () => document.documentElement.dataset.theme ?? '';

export function useDocumentTheme(): string {
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** The value of a CSS variable of the current theme, e.g. cssVariable('--muted'). */
export function cssVariable(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
