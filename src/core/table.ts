/** A plain aligned text table: readable in a terminal, in a pager and in a ticket. */
export function renderTable(headers: string[], rows: Array<Array<string | number>>, options: {alignRight?: number[]} = {}): string {
  const cells = [headers, ...rows.map((row) => row.map(String))]
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)))
  const right = new Set(options.alignRight ?? [])
  return cells
    .map((row) =>
      row
        .map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
