#!/usr/bin/env node
/**
 * `npm run test:agents` (part of `npm test`): builds and unit-tests the producer agents in other
 * languages, so that the conformance suite (vitest project `conformance`) finds them ready:
 *
 *   agents/java    `mvn -q -B verify` (unit tests + target/kreorg-agent-driver.jar for the suite)
 *   agents/python  `setup-venv.sh` (a venv with the pinned versions) + `pytest -q`
 *
 * A missing toolchain fails with what to install. KREORG_SKIP_AGENTS=java,python (or `all`) opts out
 * explicitly; the conformance suite then skips those agents too.
 */
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const skipped = new Set(
  (process.env.KREORG_SKIP_AGENTS ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean),
)
const skip = (name) => skipped.has(name) || skipped.has('all')

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], {stdio: 'ignore'}).status === 0
}

function run(label, command, args, cwd) {
  const started = Date.now()
  process.stdout.write(`[test:agents] ${label}: ${command} ${args.join(' ')}\n`)
  const result = spawnSync(command, args, {cwd, stdio: 'inherit'})
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (result.error) throw new Error(`${label}: could not run ${command}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`${label} failed (exit ${result.status ?? result.signal}) after ${seconds} s`)
  process.stdout.write(`[test:agents] ${label}: ok in ${seconds} s\n`)
}

const missing = (what, install, name) =>
  new Error(`${what}\n  install: ${install}\n  or skip the ${name} agent explicitly: KREORG_SKIP_AGENTS=${name} npm test`)

const agents = {
  java() {
    if (!onPath('java') || !onPath('mvn'))
      throw missing(
        `the Java agent (agents/java) needs JDK 17+ and Maven on the PATH (${onPath('java') ? 'mvn' : 'java'} not found)`,
        'Debian/Ubuntu `apt-get install openjdk-17-jdk-headless maven`; macOS `brew install openjdk@17 maven`',
        'java',
      )
    run('java agent', 'mvn', ['-q', '-B', 'verify'], path.join(REPO, 'agents/java'))
  },
  python() {
    const python = process.env.PYTHON ?? 'python3'
    if (!onPath(python))
      throw missing(
        `the Python agent (agents/python) needs Python >= 3.9 (${python} not found; PYTHON=... names another)`,
        'Debian/Ubuntu `apt-get install python3 python3-venv`; macOS `brew install python`',
        'python',
      )
    const dir = path.join(REPO, 'agents/python')
    run('python agent venv', path.join(dir, 'setup-venv.sh'), [], dir)
    run('python agent', path.join(dir, '.venv/bin/python'), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], dir)
  },
}

const only = process.argv.slice(2)
const failures = []
for (const [name, check] of Object.entries(agents)) {
  if (only.length > 0 && !only.includes(name)) continue
  if (skip(name)) {
    process.stdout.write(`[test:agents] ${name} agent: skipped (KREORG_SKIP_AGENTS)\n`)
    continue
  }
  try {
    check()
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
if (failures.length > 0) {
  process.stderr.write(`[test:agents] FAILED\n  ${failures.join('\n  ')}\n`)
  process.exit(1)
}
