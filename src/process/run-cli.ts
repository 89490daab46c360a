/**
 * The one place kreorg's own code runs its CLI as a child process: the demo (which ships in the
 * package), the benchmarks and the tests. Every caller states its timeout, whether the user's XDG
 * config and state dirs are visible to the child, and how strictly stdout is read as NDJSON, so these
 * no longer drift apart copy by copy.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

/** One `--json` output line. */
export type NdjsonRecord = Record<string, unknown>

/**
 * The package root: the nearest ancestor holding bin/run.js, so the same code finds it when run from
 * src/ (tests) and from dist/src/ (the demo, an installed package).
 */
export const PACKAGE_ROOT = ((): string => {
  const start = path.dirname(fileURLToPath(import.meta.url))
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'bin', 'run.js')) && existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(start, '../..')
  }
})()

/** The compiled CLI entry point (bin/run.js loads dist/). */
export const CLI_BIN = path.join(PACKAGE_ROOT, 'bin', 'run.js')

export interface XdgDirs {
  /** XDG_CONFIG_HOME: where profiles (kreorg/config.yaml) are read from. */
  configHome: string
  /** XDG_STATE_HOME: the default state dir (checkpoints, locks) unless --state-dir/KREORG_STATE_DIR. */
  stateHome: string
}

/** Fresh, empty XDG config and state dirs: the child sees none of the user's profiles or runs. */
export function isolatedXdgDirs(prefix = 'kreorg-xdg-'): XdgDirs {
  const root = mkdtempSync(path.join(tmpdir(), prefix))
  return {configHome: path.join(root, 'config'), stateHome: path.join(root, 'state')}
}

export function xdgEnv(dirs: XdgDirs): {XDG_CONFIG_HOME: string; XDG_STATE_HOME: string} {
  return {XDG_CONFIG_HOME: dirs.configHome, XDG_STATE_HOME: dirs.stateHome}
}

/**
 * How stdout lines that are not a JSON object are treated. 'fail': the run rejects (for `--json`
 * output, which must be pure NDJSON); 'skip': they are ignored (human output mixed in).
 */
export type NonJsonLines = 'fail' | 'skip'

/** Handed to the callbacks so they can stop the child the moment they have seen enough. */
export interface CliChild {
  kill(signal?: NodeJS.Signals): void
}

export interface RunCliOptions<E extends NdjsonRecord = NdjsonRecord> {
  /** The child is SIGKILLed after this long; the result then says `timedOut`. */
  timeoutMs: number
  /** Isolated dirs, or 'inherit' to let the child read the user's own profiles and state. */
  xdg: XdgDirs | 'inherit'
  /** Over the parent's environment (after `xdg` and FORCE_COLOR=0); an undefined value removes a variable. */
  env?: Readonly<Record<string, string | undefined>>
  /** Default: the package root. */
  cwd?: string
  /** Written to stdin, which is then closed (stdin is always a pipe, never a TTY). */
  input?: string
  /** Read stdout as NDJSON into `events` (and `onEvent`) as lines arrive. */
  ndjson?: {nonJson: NonJsonLines; onEvent?: (event: E, child: CliChild) => void}
  /** Every complete stdout line as it arrives, before any NDJSON parsing. */
  onLine?: (line: string, child: CliChild) => void
  /** Another entry point (e.g. a packed copy of the CLI). Default: CLI_BIN. */
  bin?: string
}

export interface CliRun<E extends NdjsonRecord = NdjsonRecord> {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Parsed NDJSON lines, when `ndjson` was asked for; otherwise empty. */
  events: E[]
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean
  /** Wall clock from spawn to exit, as a user would see it. */
  durationMs: number
}

/** Thrown (after the child is gone) when `nonJson: 'fail'` met a stdout line that is not a JSON object. */
export class NdjsonLineError extends Error {
  constructor(
    readonly line: string,
    reason: string,
  ) {
    super(`not an NDJSON object on stdout (${reason}): ${line.slice(0, 300)}`)
    this.name = 'NdjsonLineError'
  }
}

function parseObjectLine(line: string): NdjsonRecord | Error {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as NdjsonRecord) : new Error('not an object')
}

/** NDJSON text (one JSON object per non-empty line) into records, with the same rules as `runCli`. */
export function parseNdjson<E extends NdjsonRecord = NdjsonRecord>(text: string, nonJson: NonJsonLines): E[] {
  const events: E[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    const parsed = parseObjectLine(line)
    if (!(parsed instanceof Error)) events.push(parsed as E)
    else if (nonJson === 'fail') throw new NdjsonLineError(line, parsed.message)
  }
  return events
}

/** Spawns the real CLI (`node bin/run.js ...args`), as a user would run it. */
export function runCli<E extends NdjsonRecord = NdjsonRecord>(args: readonly string[], options: RunCliOptions<E>): Promise<CliRun<E>> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [options.bin ?? CLI_BIN, ...args], {
      cwd: options.cwd ?? PACKAGE_ROOT,
      env: {
        ...process.env,
        ...(options.xdg === 'inherit' ? {} : xdgEnv(options.xdg)),
        // Output is parsed, not looked at: no colour codes even when the parent forces them.
        FORCE_COLOR: '0',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const handle: CliChild = {kill: (signal = 'SIGKILL') => void child.kill(signal)}
    const events: E[] = []
    let stdout = ''
    let stderr = ''
    let pending = ''
    let badLine: NdjsonLineError | undefined
    let timedOut = false

    const takeLine = (raw: string, final: boolean) => {
      options.onLine?.(raw, handle)
      const line = raw.trim()
      if (!options.ndjson || line === '' || badLine) return
      const parsed = parseObjectLine(line)
      if (!(parsed instanceof Error)) {
        events.push(parsed as E)
        options.ndjson.onEvent?.(parsed as E, handle)
      } else if (options.ndjson.nonJson === 'fail' && !final) {
        badLine = new NdjsonLineError(line, parsed.message)
        child.kill('SIGKILL')
      }
    }

    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      stdout += text
      pending += text
      let newline: number
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        takeLine(line, false)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // The child may exit (or be killed) before reading its input: that is its business, not an error here.
    child.stdin.on('error', () => {})
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      // An unterminated last line counts when it parses; a fragment cut off by a kill does not fail the run.
      if (pending !== '') takeLine(pending, true)
      if (badLine) {
        reject(badLine)
        return
      }
      resolve({code, signal, stdout, stderr, events, timedOut, durationMs: performance.now() - started})
    })
    child.stdin.end(options.input ?? '')
  })
}
