import { useEffect, useRef, useState } from 'react';
import {
  describeTimeRange,
  formatTimeRange,
  parseTimeRange,
  PRESETS,
  type TimeRange,
} from '../domain/time-range';

const toLocalInput = (d: Date) => d.toISOString().slice(0, 16);

/** Presets from 5 minutes to 24 hours, a custom "last N", or an absolute range (UTC). */
export function TimeRangePicker({
  range,
  onChange,
}: {
  range: TimeRange;
  onChange: (range: TimeRange) => void;
}) {
  const [open, setOpen] = useState(false);
  const [custom, setCustom] = useState('');
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 3_600_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date()));
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (
        event instanceof KeyboardEvent ? event.key === 'Escape' : !box.current?.contains(event.target as Node)
      )
        setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const choose = (next: TimeRange | null, what: string) => {
    if (!next) {
      setError(`${what} is not a range`);
      return;
    }
    setError(null);
    setOpen(false);
    onChange(next);
  };

  return (
    <div className="time-range" ref={box}>
      <button type="button" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}>
        <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden>
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path
            d="M8 4.5V8l2.5 1.5"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.5"
            strokeLinecap="round"
          />
        </svg>
        {describeTimeRange(range)}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Time range">
          <ul>
            {PRESETS.map((p) => (
              <li key={p.text}>
                <button
                  type="button"
                  className={formatTimeRange(range) === p.text ? 'selected' : ''}
                  onClick={() => choose(parseTimeRange(p.text), p.label)}
                >
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              choose(parseTimeRange(custom), `'${custom}'`);
            }}
          >
            <label>
              Last
              <input
                value={custom}
                placeholder="e.g. 30m, 3h, 2d"
                onChange={(e) => setCustom(e.target.value)}
              />
            </label>
            <button type="submit">Apply</button>
          </form>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              choose(parseTimeRange(`${from}:00Z~${to}:00Z`), 'That range');
            }}
          >
            <label>
              From (UTC)
              <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
            </label>
            <label>
              To (UTC)
              <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            </label>
            <button type="submit">Apply</button>
          </form>
          {error && <p className="form-error">{error}</p>}
        </div>
      )}
    </div>
  );
}
