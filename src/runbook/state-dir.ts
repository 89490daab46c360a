import {randomBytes} from 'node:crypto'
import {promises as fs, constants as fsConstants} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describeCause, KreorgError} from '../core/errors.js'

/**
 * The state dir holds checkpoints (`runs/<run-id>.json`) and per-topic locks (`locks/<key>.lock`).
 * `--state-dir` > KREORG_STATE_DIR > $XDG_STATE_HOME/kreorg > ~/.local/state/kreorg.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KREORG_STATE_DIR) return path.resolve(env.KREORG_STATE_DIR)
  if (env.XDG_STATE_HOME) return path.join(path.resolve(env.XDG_STATE_HOME), 'kreorg')
  return path.join(os.homedir(), '.local', 'state', 'kreorg')
}

export function runsDir(stateDir: string): string {
  return path.join(stateDir, 'runs')
}

export function locksDir(stateDir: string): string {
  return path.join(stateDir, 'locks')
}

/**
 * `mkdir -p`, one level at a time. Node's own `{recursive: true}` loops forever where mkdir answers
 * ENOENT although the parent exists (e.g. under /proc), which would hang kreorg before it starts.
 */
async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = []
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      if ((await fs.stat(current)).isDirectory()) break
      throw Object.assign(new Error(`${current} is not a directory`), {code: 'ENOTDIR'})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(current) === current) throw error
      missing.push(current)
    }
  }
  for (const level of missing.reverse()) {
    await fs.mkdir(level, {mode}).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    })
  }
}

/** Creates the dir (and parents) 0700: checkpoints name topics, brokers and groups. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir, 0o700)
    const stat = await fs.stat(dir)
    // A dir we own that others can read (e.g. made by an older version or by hand): tighten it.
    if ((stat.mode & 0o077) !== 0 && typeof process.getuid === 'function' && stat.uid === process.getuid()) {
      await fs.chmod(dir, 0o700)
    }
  } catch (error) {
    throw new KreorgError('state-dir', `cannot use state dir ${dir}: ${describeCause(error)}`, {
      suggestions: ['pass --state-dir <dir> (or set KREORG_STATE_DIR) to a writable directory'],
      cause: error,
    })
  }
}

/** fsync a directory so a rename or create in it survives power loss (a no-op where dirs can't be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY)
    await handle.sync()
  } catch {
    // Some platforms/filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => {})
  }
}

/** Writes a temp file next to `target` (0600, fsynced) and returns its path. */
export async function writeTempFile(target: string, contents: string): Promise<string> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await fs.open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(contents, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  return temp
}

/**
 * Replaces `target` atomically: temp file, fsync, rename, fsync the dir. A reader (or a crash)
 * sees either the old contents or the new ones, never a mix.
 */
export async function atomicWriteFile(target: string, contents: string): Promise<void> {
  const temp = await writeTempFile(target, contents)
  try {
    await fs.rename(temp, target)
  } catch (error) {
    await fs.unlink(temp).catch(() => {})
    throw error
  }
  await fsyncDir(path.dirname(target))
}
