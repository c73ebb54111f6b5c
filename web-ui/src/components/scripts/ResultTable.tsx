import { useMemo } from 'react';
import type { Row } from '../../api/types';
import { DataTable } from '../DataTable';
import { resultColumns, tableHeight } from './result-columns';

/** The rows of a result under the given columns, in that order. */
export function ResultTable({ columns, rows, title }: { columns: string[]; rows: Row[]; title?: string }) {
  const dataColumns = useMemo(() => resultColumns(columns, rows), [columns, rows]);
  return (
    <div className="result-table">
      {title && <h3>{title}</h3>}
      <DataTable
        columns={dataColumns}
        rows={rows}
        height={tableHeight(rows.length)}
        emptyText="The query returned no rows."
        testId="query-result-table"
      />
    </div>
  );
}
