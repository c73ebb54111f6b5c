import type { KeyboardEvent, ReactNode } from 'react';
import type { Row } from '../../api/types';

export interface RowColumn {
  key: string;
  label: string;
  numeric?: boolean;
  render?: (row: Row) => ReactNode;
}

/**
 * A small table of query rows; when `onOpen` is given each row is a link-like target (click, or Enter on the
 * focused row) that opens it elsewhere.
 */
export function RowTable({
  caption,
  columns,
  rows,
  onOpen,
  testId,
}: {
  caption: string;
  columns: RowColumn[];
  rows: Row[];
  onOpen?: (row: Row) => void;
  testId?: string;
}) {
  return (
    <table className="data row-table" data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.key} className={c.numeric ? 'num' : undefined} scope="col">
              {c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => {
          const open = onOpen ? () => onOpen(row) : undefined;
          const onKeyDown = (event: KeyboardEvent) => {
            if (open && event.key === 'Enter') open();
          };
          return (
            <tr
              key={i}
              className={open ? 'openable' : undefined}
              tabIndex={open ? 0 : undefined}
              onClick={open}
              onKeyDown={open ? onKeyDown : undefined}
            >
              {columns.map((c) => (
                <td key={c.key} className={c.numeric ? 'num' : undefined}>
                  {c.render ? c.render(row) : String(row[c.key] ?? '–')}
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
