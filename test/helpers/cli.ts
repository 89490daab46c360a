import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(REPO_ROOT, 'bin/run.js')

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
const isolatedXdg = mkdtempSync(path.join(tmpdir(), 'kreorg-test-xdg-'))
export const TEST_XDG_ENV = {
  XDG_CONFIG_HOME: path.join(isolatedXdg, 'config'),
  XDG_STATE_HOME: path.join(isolatedXdg, 'state'),
}

/** Spawns the real CLI (the compiled bin/run.js), as a user would run it. */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: {...process.env, ...TEST_XDG_ENV, FORCE_COLOR: '0', ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
    child.stdin.end(options.input ?? '')
  })
}

/** Parses NDJSON output (one JSON value per non-empty line). */
export function parseNdjson(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}
