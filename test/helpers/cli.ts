import {
  type CliChild,
  isolatedXdgDirs,
  type NdjsonRecord,
  parseNdjson as parseNdjsonLines,
  runCli as spawnCli,
  xdgEnv,
} from '../../src/process/run-cli.js'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  cwd?: string
}

/**
 * The developer's own ~/.config/kreorg profiles and ~/.local/state/kreorg runs must not leak into
 * tests (nor tests into them): every spawned CLI gets empty XDG dirs unless a test sets its own.
 */
const TEST_XDG = isolatedXdgDirs('kreorg-test-xdg-')
export const TEST_XDG_ENV = xdgEnv(TEST_XDG)

/** Spawns the real CLI (the compiled bin/run.js), as a user would run it. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const {code, signal, stdout, stderr} = await spawnCli(args, {
    timeoutMs: options.timeoutMs ?? 120_000,
    xdg: TEST_XDG,
    ...(options.env ? {env: options.env} : {}),
    ...(options.input === undefined ? {} : {input: options.input}),
    ...(options.cwd ? {cwd: options.cwd} : {}),
  })
  return {code, signal, stdout, stderr}
}

/** Parses NDJSON output (one JSON object per non-empty line; anything else fails the test). */
export function parseNdjson(text: string): Array<Record<string, unknown>> {
  return parseNdjsonLines(text, 'fail')
}

/** What every `--json` event carries (see RunEvent in src/runbook/types.ts). */
export type CliEvent = NdjsonRecord & {event: string; runId?: string; step?: string | null}

export interface JsonCliResult<E extends CliEvent = CliEvent> extends CliResult {
  events: E[]
}

/**
 * The real CLI with --json; `onEvent` sees every NDJSON event as it arrives and may act on the
 * cluster (kill a node) or on the process itself (`kill()`, SIGKILL by default).
 */
export async function runCliJson<E extends CliEvent = CliEvent>(
  args: string[],
  options: {env?: Record<string, string | undefined>; timeoutMs: number; onEvent?: (event: E, kill: CliChild['kill']) => void},
): Promise<JsonCliResult<E>> {
  const {onEvent} = options
  const {code, signal, stdout, stderr, events} = await spawnCli<E>([...args, '--json'], {
    timeoutMs: options.timeoutMs,
    xdg: TEST_XDG,
    ...(options.env ? {env: options.env} : {}),
    ndjson: {nonJson: 'fail', ...(onEvent ? {onEvent: (event: E, child: CliChild) => onEvent(event, child.kill)} : {})},
  })
  return {code, signal, stdout, stderr, events}
}

export interface KilledRun<E extends CliEvent = CliEvent> extends JsonCliResult<E> {
  /** Whether `when` matched (and the signal was sent) before the run ended by itself. */
  matched: boolean
}

/**
 * The real CLI with --json, sent `signal` the moment an NDJSON event matches `when` (SIGKILL:
 * nothing runs after it, exactly like a dead laptop).
 */
export async function runCliUntil<E extends CliEvent = CliEvent>(
  args: string[],
  when: (event: E) => boolean,
  options: {env?: Record<string, string | undefined>; timeoutMs: number; signal?: NodeJS.Signals},
): Promise<KilledRun<E>> {
  let matched = false
  const result = await runCliJson<E>(args, {
    ...options,
    onEvent(event, kill) {
      if (matched || !when(event)) return
      matched = true
      kill(options.signal ?? 'SIGKILL')
    },
  })
  return {...result, matched}
}

export {CLI_BIN as BIN, PACKAGE_ROOT as REPO_ROOT} from '../../src/process/run-cli.js'
