import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {z} from 'zod'

import {describeCause, KreorgError} from '../core/errors.js'
import {pidAlive} from './checkpoint.js'
import {ensurePrivateDir, fsyncDir, locksDir, writeTempFile} from './state-dir.js'

/**
 * The per-topic local lock: one file per lock key, created exclusively. It stops two kreorg
 * processes on this machine from working on the same topic; the cluster-wide guard is the
 * control-topic lease.
 */

const lockSchema = z.object({runId: z.string(), pid: z.number().int(), host: z.string(), createdAt: z.string()})
export type LockInfo = z.infer<typeof lockSchema>

export function lockPath(stateDir: string, key: string): string {
  // Topic names are already file-safe; encode anything else so a key can't escape the dir.
  return path.join(locksDir(stateDir), `${encodeURIComponent(key).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length))}.lock`)
}

export interface HeldLock {
  key: string
  file: string
  info: LockInfo
  release(): Promise<void>
}

async function readLock(file: string): Promise<LockInfo | null | 'unreadable'> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  try {
    return lockSchema.parse(JSON.parse(text))
  } catch {
    return 'unreadable'
  }
}

function sameLock(a: LockInfo, b: LockInfo): boolean {
  return a.runId === b.runId && a.pid === b.pid && a.host === b.host && a.createdAt === b.createdAt
}

/**
 * Takes the lock for `key` on behalf of `runId`. A lock left by a dead process on this host is
 * taken over (with `onWarning`); a live one, or one from another host, is KreorgError('lock-held'), exit 6.
 */
export async function acquireLock(
  stateDir: string,
  key: string,
  runId: string,
  onWarning: (message: string) => void = () => {},
): Promise<HeldLock> {
  const dir = locksDir(stateDir)
  await ensurePrivateDir(dir)
  const file = lockPath(stateDir, key)
  const info: LockInfo = {runId, pid: process.pid, host: os.hostname(), createdAt: new Date().toISOString()}
  // Write the contents first, then link(): the lock appears atomically and never empty.
  const temp = await writeTempFile(file, `${JSON.stringify(info)}\n`)
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.link(temp, file)
        await fsyncDir(dir)
        return held(key, file, info)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const existing = await readLock(file)
      if (existing === null) continue // released meanwhile: try again
      if (existing === 'unreadable') {
        throw new KreorgError('lock-held', `lock file ${file} for "${key}" is unreadable`, {
          suggestions: [`if no kreorg is working on "${key}", delete ${file}`],
        })
      }
      const here = existing.host === os.hostname()
      if (!here || pidAlive(existing.pid)) {
        throw new KreorgError(
          'lock-held',
          `"${key}" is locked by run ${existing.runId} (pid ${existing.pid} on ${existing.host}, since ${existing.createdAt})`,
          {
            suggestions: here
              ? [`wait for it, or stop it (kill -INT ${existing.pid}) and run \`kreorg resume ${existing.runId}\``]
              : [`that run belongs to another host; if it is gone for good, delete ${file}`],
          },
        )
      }
      // Stale: move it aside under a unique name, then make sure it was the stale one we read
      // (another process may have taken it over between our read and our rename).
      const aside = `${file}.stale-${process.pid}-${Date.now()}`
      try {
        await fs.rename(file, aside)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }
      const moved = await readLock(aside)
      if (moved !== null && moved !== 'unreadable' && !sameLock(moved, existing)) {
        // We moved someone's fresh lock: put it back and report it as held.
        await fs.link(aside, file).catch(() => {})
        await fs.unlink(aside).catch(() => {})
        throw new KreorgError('lock-held', `"${key}" is locked by run ${moved.runId} (pid ${moved.pid})`)
      }
      await fs.unlink(aside).catch(() => {})
      if (existing.runId !== runId) {
        onWarning(`took over the lock on "${key}" left by run ${existing.runId} (pid ${existing.pid} is gone)`)
      }
    }
    throw new KreorgError('lock-held', `could not take the lock on "${key}" (${file}): it keeps changing`)
  } catch (error) {
    if (error instanceof KreorgError) throw error
    throw new KreorgError('state-dir', `cannot lock "${key}" in ${dir}: ${describeCause(error)}`, {cause: error})
  } finally {
    await fs.unlink(temp).catch(() => {})
  }
}

function held(key: string, file: string, info: LockInfo): HeldLock {
  let released = false
  return {
    key,
    file,
    info,
    async release() {
      if (released) return
      released = true
      // Only remove the lock if it is still ours (never someone's who took over a stale one).
      const current = await readLock(file).catch(() => null)
      if (current && current !== 'unreadable' && sameLock(current, info)) await fs.unlink(file).catch(() => {})
    },
  }
}

/** The current holder of a key's lock, if any (for `runs`/`status`). */
export async function inspectLock(stateDir: string, key: string): Promise<LockInfo | null> {
  const found = await readLock(lockPath(stateDir, key)).catch(() => null)
  return found === 'unreadable' ? null : found
}
