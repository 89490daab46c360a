import {spawn} from 'node:child_process'
import {renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/**
 * Broker processes must never outlive the test run or the demo, even when the parent is SIGKILLed
 * (no exit handler runs then). So every local cluster gets a tiny detached Node process that polls
 * its parent and, once the parent is gone, SIGKILLs the broker process groups listed in
 * `<stateDir>/pids.json` and deletes the state dir. It exits by itself when the state dir
 * disappears (a normal stop()).
 *
 * "Parent gone": `kill(pid, 0)` fails, or (Linux) our parent pid in /proc changed, which also catches
 * a parent that died but was not reaped yet (a zombie still answers `kill(pid, 0)`).
 */
const WATCHDOG_SOURCE = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const parent = Number(process.argv[1]);
const stateDir = process.argv[2];
const pidsFile = path.join(stateDir, 'pids.json');
function currentParent() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return parent; }
}
function parentAlive() {
  try { process.kill(parent, 0); } catch (e) { if (e.code === 'ESRCH') return false; }
  return currentParent() === parent;
}
function killAll() {
  let pids = [];
  try { pids = JSON.parse(fs.readFileSync(pidsFile, 'utf8')); } catch {}
  for (const pid of pids) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch {} }
  }
}
const timer = setInterval(() => {
  if (!fs.existsSync(stateDir)) { clearInterval(timer); return; }
  if (parentAlive()) return;
  clearInterval(timer);
  killAll();
  // Give the kernel a moment to release the processes, then remove the data.
  setTimeout(() => { try { fs.rmSync(stateDir, {recursive: true, force: true}); } catch {} }, 500);
}, 250);
`

/** Starts the watchdog for `stateDir`; it survives this process on purpose. */
export function spawnWatchdog(stateDir: string): void {
  const env = {...process.env}
  // Loaders/flags meant for the parent (e.g. a test runner's) have no business in the watchdog.
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), stateDir], {
    detached: true,
    stdio: 'ignore',
    env,
  })
  child.unref()
}

/** Records the process groups the watchdog must kill; written atomically so it never reads half a file. */
export function writePidsFile(stateDir: string, pids: number[]): void {
  const file = path.join(stateDir, 'pids.json')
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(pids))
  renameSync(temp, file)
}

const liveGroups = new Set<number>()
let hooksInstalled = false

function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

function killAllSync(): void {
  for (const pid of liveGroups) killGroupSync(pid, 'SIGKILL')
  liveGroups.clear()
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles this signal (the demo's graceful shutdown, a test runner): they own the exit
  // and will call stop() or exit, which the 'exit' hook covers. Alone, do what the default would:
  // die, but take the brokers along.
  if (process.listenerCount(signal) > 1) return
  killAllSync()
  process.removeListener(signal, onSignal)
  process.kill(process.pid, signal)
}

/** Kill-on-exit for process groups this process started (the watchdog covers SIGKILL of the parent). */
export function trackProcessGroup(pid: number): void {
  liveGroups.add(pid)
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', killAllSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)
}

export function untrackProcessGroup(pid: number): void {
  liveGroups.delete(pid)
}

export {killGroupSync}
