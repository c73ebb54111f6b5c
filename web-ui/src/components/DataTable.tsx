import {
  memo,
  useCallback,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
  type ReactNode,
} from 'react';
import type { Row } from '../api/types';
import { nextSortOrder, sortedIndexes, type SortOrder } from '../domain/table-sort';
import './DataTable.css';

export interface DataColumn {
  key: string;
  label?: string;
  align?: 'left' | 'right';
  /** Pixels; columns without one share what is left. */
  width?: number;
  format?: (value: unknown, row: Row) => ReactNode;
}

export interface DataTableProps {
  columns: DataColumn[];
  rows: Row[];
  /** Must be stable (module-level or memoised): keys are computed once per `rows`. Defaults to the index. */
  getRowKey?: (row: Row, index: number) => string;
  /** Controlled selection; leave undefined to let the table keep its own. */
  selectedKey?: string | null;
  /** The row and its index in `rows` (not in the sorted order). */
  onSelect?: (row: Row, index: number) => void;
  /** Pixels; without it the table fills its parent's height. */
  height?: number;
  emptyText?: string;
  testId?: string;
  /** Client-side sort by clicking a header (on by default). */
  sortable?: boolean;
}

// Fixed heights are what make virtualisation exact: a row's position is its index times ROW_HEIGHT, so the
// rows in view are known without measuring anything.
const ROW_HEIGHT = 28;
const HEADER_HEIGHT = 32;
/** Rows rendered above and below the viewport, so fast scrolling does not show blank space. */
const OVERSCAN = 10;
const FLEXIBLE_MIN_WIDTH = 120;

const byIndex = (_row: Row, index: number) => String(index);

function plainText(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

interface GridRowProps {
  row: Row;
  position: number;
  columns: DataColumn[];
  selected: boolean;
  id: string;
  onPick: (position: number) => void;
}

/** Memoised: scrolling renders only the rows that come into view, not the ones already there. */
const GridRow = memo(function GridRow({ row, position, columns, selected, id, onPick }: GridRowProps) {
  return (
    <div
      role="row"
      id={id}
      data-testid="row"
      aria-rowindex={position + 2}
      aria-selected={selected}
      className={`dt-row${selected ? ' selected' : ''}${position % 2 ? ' odd' : ''}`}
      style={{ transform: `translateY(${position * ROW_HEIGHT}px)` }}
      onClick={() => onPick(position)}
    >
      {columns.map((column) => {
        const value = row[column.key];
        return (
          <div
            key={column.key}
            role="gridcell"
            className={`dt-cell${column.align === 'right' ? ' num' : ''}`}
            title={typeof value === 'string' && value.length > 20 ? value : undefined}
          >
            {column.format ? column.format(value, row) : plainText(value)}
          </div>
        );
      })}
    </div>
  );
});

/**
 * A virtualised grid: only the rows in view (plus a margin) are in the DOM, so 100,000 rows scroll as smoothly
 * as 100. Sticky header, optional sort, and selection by click or keyboard (arrows, Home, End, Page Up/Down,
 * Enter) while the grid has focus.
 */
export function DataTable({
  columns,
  rows,
  getRowKey = byIndex,
  selectedKey,
  onSelect,
  height,
  emptyText = 'No rows.',
  testId,
  sortable = true,
}: DataTableProps) {
  const idPrefix = useId();
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [measured, setMeasured] = useState(400);
  const [order, setOrder] = useState<SortOrder | null>(null);
  const [ownSelection, setOwnSelection] = useState<string | null>(null);
  const viewport = height ?? measured;
  const activeKey = selectedKey === undefined ? ownSelection : selectedKey;

  useEffect(() => {
    const element = scroller.current;
    if (height !== undefined || !element) return;
    const observer = new ResizeObserver(() => setMeasured(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, [height]);

  const display = useMemo(() => sortedIndexes(rows, order), [rows, order]);
  const keys = useMemo(() => rows.map((row, i) => getRowKey(row, i)), [rows, getRowKey]);
  const positionOfKey = useMemo(() => {
    const positions = new Map<string, number>();
    display.forEach((index, position) => positions.set(keys[index] ?? '', position));
    return positions;
  }, [display, keys]);
  const activePosition = activeKey === null ? -1 : (positionOfKey.get(activeKey) ?? -1);

  const bodyHeight = viewport - HEADER_HEIGHT;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(display.length, Math.ceil((scrollTop + bodyHeight) / ROW_HEIGHT) + OVERSCAN);

  const reveal = useCallback((position: number) => {
    const element = scroller.current;
    if (!element) return;
    const top = position * ROW_HEIGHT;
    const visibleBody = element.clientHeight - HEADER_HEIGHT;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + ROW_HEIGHT > element.scrollTop + visibleBody)
      element.scrollTop = top + ROW_HEIGHT - visibleBody;
  }, []);

  const pick = useCallback(
    (position: number) => {
      const index = display[position];
      if (index === undefined) return;
      const row = rows[index];
      if (!row) return;
      setOwnSelection(keys[index] ?? null);
      onSelect?.(row, index);
    },
    [display, rows, keys, onSelect],
  );

  // A selection that arrives from outside (a shared link) is scrolled into view once, not on every refresh.
  const revealedKey = useRef<string | null>(null);
  useEffect(() => {
    if (activeKey === revealedKey.current || activePosition < 0) return;
    revealedKey.current = activeKey;
    reveal(activePosition);
  }, [activeKey, activePosition, reveal]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const count = display.length;
    if (count === 0) return;
    const page = Math.max(1, Math.floor(bodyHeight / ROW_HEIGHT) - 1);
    const from = activePosition;
    let target: number;
    switch (event.key) {
      case 'ArrowDown':
        target = from < 0 ? 0 : Math.min(count - 1, from + 1);
        break;
      case 'ArrowUp':
        target = from < 0 ? 0 : Math.max(0, from - 1);
        break;
      case 'PageDown':
        target = Math.min(count - 1, Math.max(0, from) + page);
        break;
      case 'PageUp':
        target = Math.max(0, from - page);
        break;
      case 'Home':
        target = 0;
        break;
      case 'End':
        target = count - 1;
        break;
      case 'Enter':
        target = from < 0 ? 0 : from;
        break;
      default:
        return;
    }
    event.preventDefault();
    revealedKey.current = keys[display[target] ?? -1] ?? null;
    reveal(target);
    pick(target);
  };

  const template = columns
    .map((c) => (c.width ? `${c.width}px` : `minmax(${FLEXIBLE_MIN_WIDTH}px, 1fr)`))
    .join(' ');
  const minWidth = columns.reduce((sum, c) => sum + (c.width ?? FLEXIBLE_MIN_WIDTH), 0);
  const rowId = (position: number) => `${idPrefix}-row-${position}`;

  const visible: ReactNode[] = [];
  for (let position = first; position < last; position++) {
    const index = display[position] ?? 0;
    const row = rows[index];
    if (!row) continue;
    visible.push(
      <GridRow
        key={keys[index]}
        row={row}
        position={position}
        columns={columns}
        selected={position === activePosition}
        id={rowId(position)}
        onPick={pick}
      />,
    );
  }

  return (
    <div
      ref={scroller}
      className={`data-table${height === undefined ? ' fill' : ''}`}
      style={{ ...(height !== undefined ? { height } : {}), '--dt-columns': template } as CSSProperties}
      role="grid"
      aria-rowcount={rows.length + 1}
      aria-colcount={columns.length}
      aria-activedescendant={
        activePosition >= first && activePosition < last ? rowId(activePosition) : undefined
      }
      tabIndex={0}
      data-testid={testId}
      onKeyDown={onKeyDown}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
    >
      <div style={{ minWidth, height: HEADER_HEIGHT + Math.max(display.length, 1) * ROW_HEIGHT }}>
        <div role="row" aria-rowindex={1} className="dt-row dt-header" style={{ height: HEADER_HEIGHT }}>
          {columns.map((column) => {
            const label = column.label ?? column.key;
            const sorted = order?.key === column.key ? order.direction : null;
            return (
              <div
                key={column.key}
                role="columnheader"
                aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                className={`dt-cell${column.align === 'right' ? ' num' : ''}`}
              >
                {sortable ? (
                  <button
                    type="button"
                    title={`Sort by ${label}`}
                    onClick={() => setOrder(nextSortOrder(order, column.key))}
                  >
                    {label}
                    <span aria-hidden className="dt-sort-mark">
                      {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}
                    </span>
                  </button>
                ) : (
                  label
                )}
              </div>
            );
          })}
        </div>
        <div className="dt-body" role="rowgroup">
          {rows.length === 0 ? <div className="dt-empty">{emptyText}</div> : visible}
        </div>
      </div>
    </div>
  );
}
