import type { TableSchema } from '../../api/types';
import { shortType } from '../../domain/sql-completion';
import { ErrorMessage, Loading } from '../StateMessage';

/**
 * The node tables and their columns with types, beside the editor. A click on a name puts it at the cursor;
 * each table is a <details>, so the list stays short and is navigable by keyboard.
 */
export function SchemaPanel({
  tables,
  error,
  onInsert,
}: {
  tables: TableSchema | undefined;
  error: unknown;
  onInsert: (name: string) => void;
}) {
  if (error) return <ErrorMessage error={error} />;
  if (!tables) return <Loading what="the tables" />;
  const names = Object.keys(tables).sort();
  if (names.length === 0) return <p className="muted-note">No node has registered its tables yet.</p>;
  return (
    <div className="schema-panel" data-testid="schema-panel">
      {names.map((name) => (
        <details key={name} open={name === 'http_events'}>
          <summary>
            <button
              type="button"
              className="schema-name"
              title={`Insert ${name}`}
              onClick={(event) => {
                // Inserting the name should not also fold or unfold the table.
                event.preventDefault();
                onInsert(name);
              }}
            >
              {name}
            </button>
          </summary>
          <ul>
            {(tables[name] ?? []).map((column) => (
              <li key={column.name}>
                <button
                  type="button"
                  className="schema-name"
                  title={`Insert ${column.name}`}
                  onClick={() => onInsert(column.name)}
                >
                  {column.name}
                </button>
                <span className="schema-type">{shortType(column.type)}</span>
              </li>
            ))}
          </ul>
        </details>
      ))}
    </div>
  );
}
