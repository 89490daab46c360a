import type {Command} from '@oclif/core'

/**
 * What shell completion knows about the CLI, taken from oclif's command list (the manifest), so the
 * generated scripts follow the commands and flags as they are. Values that only the cluster or the
 * machine knows (topics, profiles, run ids) are looked up at TAB time by `kreorg __complete`.
 */
export const DYNAMIC_KINDS = ['topics', 'profiles', 'runs'] as const
export type DynamicKind = (typeof DYNAMIC_KINDS)[number]

/** How a flag's value or a positional argument completes. `free`: takes a value, nothing to offer. */
export type ValueKind = DynamicKind | 'files' | 'dirs' | 'free' | {options: string[]}

export interface FlagSpec {
  /** `--name`, then `-c` when it has a short form. */
  names: string[]
  /** null: a boolean switch (no value follows). */
  value: ValueKind | null
  description: string
}

export interface CommandSpec {
  /** As typed: `config show`. */
  id: string
  summary: string
  flags: FlagSpec[]
  /** Positional arguments in order; null where nothing can be offered. */
  args: Array<ValueKind | null>
}

export interface CompletionSpec {
  bin: string
  commands: CommandSpec[]
}

/**
 * Flags whose value is a known kind of thing, by name (oclif's manifest does not keep `Flags.file`);
 * any other `*-file` flag completes file names too.
 */
const FLAG_KINDS: Record<string, ValueKind> = {
  profile: 'profiles',
  'tls-ca': 'files',
  'tls-cert': 'files',
  'tls-key': 'files',
  'replica-assignment': 'files',
  'state-dir': 'dirs',
}

/** Positional arguments by name: every command calls the topic `topic` and a run `run-id`. */
const ARG_KINDS: Record<string, ValueKind> = {topic: 'topics', 'run-id': 'runs'}

type LoadableFlag = Command.Loadable['flags'][string]
type LoadableArg = Command.Loadable['args'][string]

function flagSpecs(command: Command.Loadable): FlagSpec[] {
  const specs: FlagSpec[] = []
  for (const flag of Object.values(command.flags) as LoadableFlag[]) {
    if (flag.hidden) continue
    const description = oneLine(flag.summary ?? flag.description ?? '')
    const names = [`--${flag.name}`, ...(flag.char ? [`-${flag.char}`] : [])]
    if (flag.type === 'boolean') {
      specs.push({names, value: null, description})
      if (flag.allowNo) specs.push({names: [`--no-${flag.name}`], value: null, description})
      continue
    }
    const options = flag.options && flag.options.length > 0 ? {options: [...flag.options]} : undefined
    specs.push({names, value: options ?? FLAG_KINDS[flag.name] ?? (flag.name.endsWith('-file') ? 'files' : 'free'), description})
  }
  specs.push({names: ['--help', '-h'], value: null, description: 'show help for this command'})
  return specs
}

function argSpecs(command: Command.Loadable): Array<ValueKind | null> {
  return (Object.values(command.args) as LoadableArg[]).map((arg) => {
    if (arg.options && arg.options.length > 0) return {options: [...arg.options]}
    return ARG_KINDS[arg.name] ?? null
  })
}

function oneLine(text: string): string {
  return text.split('\n')[0]!.replaceAll(/\s+/g, ' ').trim()
}

/** The visible commands (hidden ones, such as `__complete`, are left out), sorted by id. */
export function completionSpec(config: {bin: string; topicSeparator: string; commands: Command.Loadable[]}): CompletionSpec {
  const commands = config.commands
    .filter((c) => !c.hidden)
    .map((c) => ({
      id: c.id.split(':').join(' '),
      summary: oneLine(c.summary ?? c.description ?? ''),
      flags: flagSpecs(c),
      args: argSpecs(c),
    }))
    .sort((a, b) => a.id.localeCompare(b.id))
  return {bin: config.bin, commands}
}

/** The words that may follow `prefix` (space-joined command words so far) on the way to a command. */
export function nextCommandWords(spec: CompletionSpec, prefix: string): string[] {
  const depth = prefix === '' ? 0 : prefix.split(' ').length
  const words = spec.commands
    .filter((c) => prefix === '' || c.id.startsWith(`${prefix} `))
    .map((c) => c.id.split(' ')[depth])
    .filter((w): w is string => w !== undefined)
  return [...new Set(words)]
}

/** Every command-word prefix that is not itself a command (`config`), the empty prefix first. */
export function commandPrefixes(spec: CompletionSpec): string[] {
  const prefixes = new Set([''])
  for (const c of spec.commands) {
    const words = c.id.split(' ')
    for (let i = 1; i < words.length; i++) prefixes.add(words.slice(0, i).join(' '))
  }
  return [...prefixes]
}

/** The value kind as one shell word: `topics`, `files`, `free`, or `options:a,b,c`. */
export function kindWord(kind: ValueKind): string {
  return typeof kind === 'string' ? kind : `options:${kind.options.join(',')}`
}
