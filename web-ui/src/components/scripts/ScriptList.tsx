import type { ScriptInfo } from '../../api/types';

/** The bundled scripts, and the ad-hoc editor as the first entry; the current one is marked for screen readers. */
export function ScriptList({
  scripts,
  selected,
  onSelect,
  onAdHoc,
}: {
  scripts: ScriptInfo[];
  /** The selected script's name, or null while the ad-hoc editor is shown. */
  selected: string | null;
  onSelect: (name: string) => void;
  onAdHoc: () => void;
}) {
  return (
    <nav className="script-list" aria-label="Scripts">
      <button
        type="button"
        className="script-entry adhoc-entry"
        aria-current={selected === null ? 'page' : undefined}
        onClick={onAdHoc}
      >
        <strong>Ad-hoc SQL</strong>
        <span>Any SELECT over the node tables</span>
      </button>
      <ul data-testid="script-list">
        {scripts.map((script) => (
          <li key={script.name}>
            <button
              type="button"
              className="script-entry"
              data-testid="script-item"
              data-name={script.name}
              aria-current={selected === script.name ? 'page' : undefined}
              onClick={() => onSelect(script.name)}
            >
              <strong>{script.title}</strong>
              <span>{script.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
