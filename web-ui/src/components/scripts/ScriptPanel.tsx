import { useMemo } from 'react';
import type { ScriptInfo } from '../../api/types';
import { useQueryAnswer } from '../../hooks/queries';
import { paramProblems, paramsToUrl, paramValues, scriptAsAdHoc } from '../../domain/script-params';
import { formatTimeRange } from '../../domain/time-range';
import type { ViewProps } from '../../views/view-props';
import { ParamForm } from './ParamForm';
import { QueryOutcome } from './QueryOutcome';
import { WidgetView } from './ScriptWidgets';

/** One bundled script: its parameter form, and its answer drawn as the widgets its spec names. */
export function ScriptPanel({
  script,
  state,
  push,
}: { script: ScriptInfo } & Pick<ViewProps, 'state' | 'push'>) {
  const values = useMemo(
    () => paramValues(script, state.params, state.range),
    [script, state.params, state.range],
  );
  const valid = Object.keys(paramProblems(script, values)).length === 0;
  const request = useMemo(
    () => (valid ? { script: script.name, params: values } : null),
    [valid, script.name, values],
  );
  const answer = useQueryAnswer(request, state.live, 'script');

  return (
    <div className="script-panel">
      <header>
        <h2>{script.title}</h2>
        <p>{script.description}</p>
      </header>
      <ParamForm
        // A new script, a changed URL or time range starts the form afresh from them.
        key={`${script.name} ${formatTimeRange(state.range)} ${JSON.stringify(values)}`}
        script={script}
        initial={values}
        onRun={(next) => {
          const params = { script: script.name, ...paramsToUrl(script, next, state.range) };
          if (JSON.stringify(next) === JSON.stringify(values)) void answer.refetch();
          else push({ ...state, params });
        }}
        onOpenInEditor={(next) => push({ ...state, params: { sql: scriptAsAdHoc(script, next) } })}
      />
      {request && (
        <QueryOutcome
          answer={answer.data}
          error={answer.error}
          fetching={answer.isFetching}
          onRetry={() => void answer.refetch()}
        >
          {(result) => (
            <div className="widgets">
              {script.widgets.map((widget, i) => (
                <section key={i} className="panel widget">
                  <WidgetView widget={widget} answer={result} />
                </section>
              ))}
            </div>
          )}
        </QueryOutcome>
      )}
    </div>
  );
}
