import {spawn} from 'node:child_process'

import {maskSecrets} from '../../core/redact.js'

/** Tokens and credential documents are small; anything bigger is a misbehaving command. */
const MAX_OUTPUT_BYTES = 1024 * 1024

export interface CommandFailure {
  /** One phrase, secret-free: "exited with code 3: <first stderr line>", "did not finish within 30s". */
  reason: string
}

/**
 * Runs a user-configured credential command (`--oauth-token-command`, `credential_process`) through
 * the shell and returns its stdout. Stdin is closed, stderr is kept only to explain a failure (its
 * first line, shortened and masked), and on timeout the whole process group is killed so a hung
 * helper cannot outlive the CLI.
 */
export function runCredentialCommand(command: string, timeoutMs: number): Promise<{stdout: string} | CommandFailure> {
  return new Promise((resolve) => {
    const detached = process.platform !== 'win32'
    const child = spawn(command, {shell: true, stdio: ['ignore', 'pipe', 'pipe'], detached})
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (result: {stdout: string} | CommandFailure) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    const kill = () => {
      try {
        if (detached && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
        else child.kill('SIGKILL')
      } catch {
        // Already gone.
      }
    }
    const timer = setTimeout(() => {
      kill()
      finish({reason: `did not finish within ${Math.round(timeoutMs / 1000)}s`})
    }, timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_OUTPUT_BYTES) {
        kill()
        finish({reason: `printed more than ${MAX_OUTPUT_BYTES} bytes`})
      } else stdout.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.reduce((n, b) => n + b.length, 0) < 16_384) stderr.push(chunk)
    })
    child.once('error', (error) => finish({reason: `could not be started: ${error.message}`}))
    child.once('close', (code, signal) => {
      if (code === 0) {
        finish({stdout: Buffer.concat(stdout).toString('utf8')})
        return
      }
      const firstLine = Buffer.concat(stderr)
        .toString('utf8')
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line !== '')
      const detail = firstLine ? `: ${maskSecrets(firstLine.length > 200 ? `${firstLine.slice(0, 200)}…` : firstLine)}` : ''
      finish({reason: code === null ? `was killed by ${signal}${detail}` : `exited with code ${code}${detail}`})
    })
  })
}

export function isCommandFailure(result: {stdout: string} | CommandFailure): result is CommandFailure {
  return 'reason' in result
}
