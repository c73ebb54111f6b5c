/** Values typed by the user reach SQL only through these: quoted, escaped, or refused. */

export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A LIKE pattern matching `value` anywhere, with LIKE's own wildcards in it taken literally. */
export function sqlContains(value: string): string {
  return `${sqlString(`%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`;
}

export function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return String(value);
}
