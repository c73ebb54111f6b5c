import { useEffect, useRef, useState } from 'react';

/** How long typing may pause before the filter applies: one query per pause, not per keystroke. */
const SETTLE_MS = 400;

/**
 * A text filter whose value lives in the URL: typing applies after a short pause (Enter applies at once), and a
 * value changed from outside (Back, a link) replaces what the box shows.
 */
export function FilterInput({
  label,
  value,
  onCommit,
  testId,
  placeholder,
  width,
  invalid,
}: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
  testId: string;
  placeholder?: string;
  width?: number;
  invalid?: boolean;
}) {
  const [draft, setDraft] = useState(value);
  const [shown, setShown] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // The pending commit must use the URL as it is when it fires, not as it was when the user typed.
  const latest = useRef({ value, onCommit });
  useEffect(() => {
    latest.current = { value, onCommit };
  });
  useEffect(() => () => clearTimeout(timer.current ?? undefined), []);
  if (shown !== value) {
    // The URL changed under us: adopt its value (React's way of deriving state from a changed prop).
    setShown(value);
    setDraft(value);
  }
  const commit = (next: string) => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    if (next !== latest.current.value) latest.current.onCommit(next);
  };
  return (
    <label className="filter-field">
      <span>{label}</span>
      <input
        value={draft}
        data-testid={testId}
        placeholder={placeholder}
        aria-invalid={invalid || undefined}
        style={width ? { width } : undefined}
        onChange={(event) => {
          const next = event.target.value;
          setDraft(next);
          if (timer.current) clearTimeout(timer.current);
          timer.current = setTimeout(() => commit(next), SETTLE_MS);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter') commit(draft);
        }}
        onBlur={() => commit(draft)}
      />
    </label>
  );
}
