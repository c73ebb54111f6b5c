import { useScripts } from '../hooks/queries';
import { AdHocPanel } from '../components/scripts/AdHocPanel';
import { ScriptList } from '../components/scripts/ScriptList';
import { ScriptPanel } from '../components/scripts/ScriptPanel';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import type { ViewProps } from './view-props';
import '../components/scripts/scripts.css';

/**
 * Bundled scripts and the ad-hoc SQL editor. `script=NAME` (with `p.<param>` values) shows a script; otherwise
 * the editor, whose text is the `sql` param. This module is loaded lazily: it is the one that pulls in
 * CodeMirror.
 */
export function ScriptsView({ state, push, replace }: ViewProps) {
  const scripts = useScripts();
  const selected = state.params.script ?? null;
  const script = scripts.data?.find((s) => s.name === selected);

  let main;
  if (selected === null) main = <AdHocPanel state={state} replace={replace} />;
  else if (scripts.error)
    main = <ErrorMessage error={scripts.error} onRetry={() => void scripts.refetch()} />;
  else if (!scripts.data) main = <Loading what="the scripts" />;
  else if (!script)
    main = (
      <Empty title={`No script named ${selected}`} hint="Pick one of the bundled scripts on the left." />
    );
  else main = <ScriptPanel script={script} state={state} push={push} />;

  return (
    <section className="view scripts-view">
      <aside className="scripts-aside">
        {scripts.error && !selected ? (
          <ErrorMessage error={scripts.error} onRetry={() => void scripts.refetch()} />
        ) : (
          <ScriptList
            scripts={scripts.data ?? []}
            selected={selected}
            onSelect={(name) => push({ ...state, params: { script: name } })}
            onAdHoc={() => push({ ...state, params: {} })}
          />
        )}
      </aside>
      <div className="scripts-main">{main}</div>
    </section>
  );
}
