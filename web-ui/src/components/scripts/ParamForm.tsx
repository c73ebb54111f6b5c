import { useId, useState } from 'react';
import type { ScriptInfo, ScriptParam } from '../../api/types';
import { paramProblems } from '../../domain/script-params';

function ParamInput({
  param,
  value,
  problem,
  id,
  onChange,
}: {
  param: ScriptParam;
  value: string;
  problem: string | undefined;
  id: string;
  onChange: (value: string) => void;
}) {
  const described = problem ? `${id}-problem` : undefined;
  if (param.type === 'boolean') {
    return (
      <input
        id={id}
        type="checkbox"
        checked={/^true$/i.test(value)}
        onChange={(e) => onChange(String(e.target.checked))}
      />
    );
  }
  return (
    <input
      id={id}
      type={param.type === 'integer' || param.type === 'number' ? 'number' : 'text'}
      step={param.type === 'integer' ? 1 : 'any'}
      inputMode={param.type === 'integer' ? 'numeric' : undefined}
      placeholder={param.default === undefined ? undefined : String(param.default)}
      value={value}
      aria-invalid={problem ? true : undefined}
      aria-describedby={described}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

/**
 * A script's parameters as typed inputs, each labelled with its description. Values are checked as the broker
 * will check them, so a bad one is named here instead of coming back as an error.
 */
export function ParamForm({
  script,
  initial,
  onRun,
  onOpenInEditor,
}: {
  script: ScriptInfo;
  initial: Record<string, string>;
  onRun: (values: Record<string, string>) => void;
  onOpenInEditor: (values: Record<string, string>) => void;
}) {
  const idPrefix = useId();
  const [values, setValues] = useState(initial);
  const problems = paramProblems(script, values);
  const valid = Object.keys(problems).length === 0;
  return (
    <form
      className="param-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) onRun(values);
      }}
    >
      {script.params.map((param) => {
        const id = `${idPrefix}-${param.name}`;
        const problem = problems[param.name];
        return (
          <div key={param.name} className="param-field">
            <label htmlFor={id}>
              <span className="param-name">{param.name}</span>
              <span className="param-type">{param.type}</span>
            </label>
            <ParamInput
              param={param}
              value={values[param.name] ?? ''}
              problem={problem}
              id={id}
              onChange={(value) => setValues({ ...values, [param.name]: value })}
            />
            {problem ? (
              <small id={`${id}-problem`} className="form-error">
                {problem}
              </small>
            ) : (
              param.description && <small className="param-description">{param.description}</small>
            )}
          </div>
        );
      })}
      <div className="param-actions">
        <button type="submit" className="primary" disabled={!valid} data-testid="run-script">
          Run
        </button>
        <button
          type="button"
          disabled={!valid}
          title="Copy this script's SQL, with these values in place of its parameters, into the ad-hoc editor"
          onClick={() => onOpenInEditor(values)}
        >
          Open script in editor
        </button>
      </div>
    </form>
  );
}
