import {commandPrefixes, type CompletionSpec, kindWord, nextCommandWords} from './spec.js'

/**
 * The lookup functions bash and zsh scripts share: plain `case` statements (no associative arrays,
 * so macOS's bash 3.2 works), generated from the spec.
 *   _kreorg_next PREFIX       command words that may follow PREFIX ('' or `config`)
 *   _kreorg_command WORDS     succeeds when WORDS (`config show`) is a command
 *   _kreorg_flags CMD         CMD's flags
 *   _kreorg_flag_kind CMD F   how F's value completes (topics, files, options:a,b, free); nothing: F takes no value
 *   _kreorg_arg_kind CMD N    how CMD's Nth positional argument (from 0) completes
 */
export function shellCaseFunctions(spec: CompletionSpec, fn: string): string {
  const lines: string[] = []
  lines.push(`${fn}_next() {`, '  case "$1" in')
  for (const prefix of commandPrefixes(spec)) lines.push(`    ${quote(prefix)}) echo ${quote(nextCommandWords(spec, prefix).join(' '))} ;;`)
  lines.push('  esac', '}', '')

  lines.push(
    `${fn}_command() {`,
    '  case "$1" in',
    `    ${spec.commands.map((c) => quote(c.id)).join('|')}) return 0 ;;`,
    '  esac',
    '  return 1',
    '}',
    '',
  )

  lines.push(`${fn}_flags() {`, '  case "$1" in')
  for (const c of spec.commands) lines.push(`    ${quote(c.id)}) echo ${quote(c.flags.flatMap((f) => f.names).join(' '))} ;;`)
  lines.push('  esac', '}', '')

  const byKind = new Map<string, string[]>()
  for (const c of spec.commands) {
    for (const f of c.flags) {
      if (f.value === null) continue
      const patterns = byKind.get(kindWord(f.value)) ?? []
      patterns.push(...f.names.map((name) => quote(`${c.id} ${name}`)))
      byKind.set(kindWord(f.value), patterns)
    }
  }
  lines.push(`${fn}_flag_kind() {`, '  case "$1 $2" in')
  for (const [kind, patterns] of byKind) lines.push(`    ${patterns.join('|')}) echo ${quote(kind)} ;;`)
  lines.push('  esac', '}', '')

  const argKinds = new Map<string, string[]>()
  for (const c of spec.commands) {
    c.args.forEach((kind, index) => {
      if (kind === null) return
      const patterns = argKinds.get(kindWord(kind)) ?? []
      patterns.push(quote(`${c.id} ${index}`))
      argKinds.set(kindWord(kind), patterns)
    })
  }
  lines.push(`${fn}_arg_kind() {`, '  case "$1 $2" in')
  for (const [kind, patterns] of argKinds) lines.push(`    ${patterns.join('|')}) echo ${quote(kind)} ;;`)
  lines.push('  esac', '}')
  return lines.join('\n')
}

/** A single-quoted shell word. */
export function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

/** The function-name stem for a bin (`kreorg` → `_kreorg`; anything unsafe becomes `_`). */
export function functionStem(bin: string): string {
  return `_${bin.replaceAll(/[^A-Za-z0-9_]/g, '_')}`
}
