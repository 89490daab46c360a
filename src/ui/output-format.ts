import {stringify as stringifyYaml} from 'yaml'

/** What the read commands (lag, producers, runs, status, audit, config show) can print. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

/**
 * One document in `format`. JSON and YAML carry the same data: YAML is written from the JSON form
 * (dates as ISO strings, undefined fields dropped), so a script may switch between them and parse
 * back identical values. `table` is the command's own human view.
 */
export function formatOutput(format: OutputFormat, data: unknown, table: () => string): string {
  if (format === 'table') return table()
  const json = JSON.stringify(data)
  if (format === 'json') return json
  // lineWidth 0: long values (error messages, paths) stay on one line, so grep still finds them.
  return stringifyYaml(json === undefined ? null : JSON.parse(json), {lineWidth: 0}).trimEnd()
}

/**
 * Repeated documents (`lag --watch`): JSON is one document per line (NDJSON); YAML documents are
 * separated by `---`, so a YAML multi-document parser reads the stream.
 */
export function formatStreamed(format: OutputFormat, data: unknown, table: () => string): string {
  const text = formatOutput(format, data, table)
  return format === 'yaml' ? `---\n${text}` : text
}
