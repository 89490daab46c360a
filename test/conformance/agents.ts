/**
 * Which agent implementations the suite runs, and getting each one ready (build, virtual environment).
 *
 * KREORG_CONFORMANCE_AGENTS selects them:
 *   unset                      kafkajs, python and java (each skipped with a reason when its toolchain is missing)
 *   "kafkajs,python"           some of the built-in ones, by name
 *   "go=./bin/driver --flag"   any driver command line (split on spaces); with names, ';' separates: "python;go=./driver"
 *   '[{"name":"go","command":["./driver"],"env":{},"require":["pin"]}]'   JSON, for arguments with spaces
 *
 * `require`: capabilities whose absence fails the scenarios that need them instead of skipping them.
 * The Python and Java agents implement protocol 1.1, so for them a missing capability is a failure.
 * A built-in agent that cannot be prepared fails, unless KREORG_SKIP_AGENTS names it (then it is skipped).
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import ts from 'typescript'

const run = promisify(execFile)

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** What a protocol 1.1 heartbeat may advertise (PROTOCOL 1.1, section B). */
export const CAPABILITIES = ['pause', 'pin', 'refresh', 'canary', 'fence', 'txn'] as const
export type Capability = (typeof CAPABILITIES)[number]
/** Not a capability name: "advertises capabilities at all", i.e. implements protocol 1.1 (heartbeat topic, fields). */
export const PROTOCOL_11 = 'protocol-1.1'
export type Requirement = Capability | typeof PROTOCOL_11

/** A protocol v1 agent advertises nothing; v1 itself covers these (the pin *action* and fencing came with 1.1). */
export const V1_CAPABILITIES: readonly Capability[] = ['pause', 'refresh', 'canary', 'txn']

export interface ConformanceAgent {
  name: string
  command: string[]
  cwd: string
  env: Record<string, string>
  /** The `language` its heartbeats must report, when known. */
  language?: string
  require: Requirement[]
  /** Gets it runnable, or says why it cannot run (then its scenarios fail, or are skipped with KREORG_SKIP_AGENTS). */
  prepare: () => Promise<Readiness>
  /** A built-in agent: its unavailability fails unless KREORG_SKIP_AGENTS names it. */
  builtIn: boolean
}

export type Readiness = {runnable: true} | {runnable: false; reason: string}
const RUNNABLE: Readiness = {runnable: true}
const notRunnable = (reason: string): Readiness => ({runnable: false, reason})

const ALL_REQUIREMENTS: Requirement[] = [...CAPABILITIES, PROTOCOL_11]

async function onPath(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`])
    return true
  } catch {
    return false
  }
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs)
  }
  return newest
}

function describeFailure(error: unknown): string {
  const failed = error as {message?: string; stderr?: string; stdout?: string}
  const output = `${failed.stderr ?? ''}${failed.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n')
  return `${failed.message?.split('\n')[0] ?? String(error)}${output ? `\n${output}` : ''}`
}

/** The kafkajs driver is TypeScript: transpiled next to the repo (so `kreorg/agent` resolves to the built package). */
const KAFKAJS_DRIVER_OUT = path.join(REPO, '.kreorg-test', 'conformance', 'kafkajs-driver.mjs')

async function prepareKafkajs(): Promise<Readiness> {
  if (!process.env.KREORG_CONFORMANCE_AGENT_MODULE && !existsSync(path.join(REPO, 'dist/src/agent/index.js'))) {
    return notRunnable(
      'the kafkajs agent is not built (dist/src/agent/index.js is missing): run `npm run build` (npm run test:conformance does)',
    )
  }
  const source = path.join(REPO, 'test/conformance/drivers/kafkajs-driver.ts')
  const output = ts.transpileModule(readFileSync(source, 'utf8'), {
    fileName: source,
    compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false},
  })
  mkdirSync(path.dirname(KAFKAJS_DRIVER_OUT), {recursive: true})
  const temporary = `${KAFKAJS_DRIVER_OUT}.${process.pid}.tmp`
  writeFileSync(temporary, output.outputText)
  renameSync(temporary, KAFKAJS_DRIVER_OUT)
  return RUNNABLE
}

const PYTHON_DIR = path.join(REPO, 'agents/python')

async function preparePython(): Promise<Readiness> {
  const python = process.env.PYTHON ?? 'python3'
  if (!(await onPath(python)))
    return notRunnable(
      `${python} is not installed: the Python agent needs Python >= 3.9 with venv (apt-get install python3 python3-venv), or KREORG_SKIP_AGENTS=python`,
    )
  try {
    // Idempotent: returns at once when the venv already has the pinned versions.
    await run(path.join(PYTHON_DIR, 'setup-venv.sh'), [], {timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024})
  } catch (error) {
    return notRunnable(`agents/python/setup-venv.sh failed: ${describeFailure(error)}`)
  }

  return RUNNABLE
}

const JAVA_DIR = path.join(REPO, 'agents/java')
const JAVA_JAR = path.join(JAVA_DIR, 'target/kreorg-agent-driver.jar')

async function prepareJava(): Promise<Readiness> {
  if (!existsSync(path.join(JAVA_DIR, 'pom.xml'))) return notRunnable('agents/java/pom.xml does not exist')
  if (!(await onPath('java')))
    return notRunnable(
      'java is not installed: the Java agent needs JDK 17+ and Maven (apt-get install openjdk-17-jdk-headless maven), or KREORG_SKIP_AGENTS=java',
    )
  const stale =
    !existsSync(JAVA_JAR) ||
    statSync(JAVA_JAR).mtimeMs < Math.max(newestMtime(path.join(JAVA_DIR, 'src/main')), statSync(path.join(JAVA_DIR, 'pom.xml')).mtimeMs)
  if (!stale) return RUNNABLE
  if (process.env.KREORG_CONFORMANCE_BUILD === '0') {
    return existsSync(JAVA_JAR)
      ? RUNNABLE
      : notRunnable('agents/java/target/kreorg-agent-driver.jar is missing and KREORG_CONFORMANCE_BUILD=0')
  }
  if (!(await onPath('mvn'))) {
    return existsSync(JAVA_JAR)
      ? RUNNABLE
      : notRunnable(
          'agents/java/target/kreorg-agent-driver.jar is missing and Maven is not installed to build it (apt-get install maven), or KREORG_SKIP_AGENTS=java',
        )
  }
  try {
    await run('mvn', ['-q', '-B', '-f', path.join(JAVA_DIR, 'pom.xml'), '-DskipTests', 'package'], {
      timeout: 15 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (error) {
    return notRunnable(`building the Java agent (mvn -DskipTests package in agents/java) failed: ${describeFailure(error)}`)
  }
  return existsSync(JAVA_JAR) ? RUNNABLE : notRunnable('mvn package did not produce agents/java/target/kreorg-agent-driver.jar')
}

const BUILT_IN: Record<string, () => ConformanceAgent> = {
  kafkajs: () => ({
    name: 'kafkajs',
    command: [process.execPath, KAFKAJS_DRIVER_OUT],
    cwd: REPO,
    env: {},
    language: 'kafkajs',
    // Scenarios it does not advertise a capability for are skipped, not failed, while its 1.1 support
    // lands (src/agent); make this ALL_REQUIREMENTS once it has.
    require: [],
    prepare: prepareKafkajs,
    builtIn: true,
  }),
  python: () => ({
    name: 'python',
    command: [path.join(PYTHON_DIR, '.venv/bin/python'), '-m', 'kreorg_agent.conformance_driver'],
    cwd: REPO,
    env: {PYTHONUNBUFFERED: '1'},
    language: 'python',
    require: ALL_REQUIREMENTS,
    prepare: preparePython,
    builtIn: true,
  }),
  java: () => ({
    name: 'java',
    // A driver JVM lives for one scenario: C1 only and the serial collector cut its start-up CPU by ~30%
    // (the suite starts ~20 of them); JVM warnings go to stderr, stdout is the protocol's.
    command: [
      'java',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xlog:disable',
      '-Xlog:all=warning:stderr',
      '-cp',
      JAVA_JAR,
      'dev.kreorg.agent.ConformanceDriver',
    ],
    cwd: REPO,
    env: {},
    language: 'java',
    require: ALL_REQUIREMENTS,
    prepare: prepareJava,
    builtIn: true,
  }),
}

interface CustomAgent {
  name: string
  command: string[]
  cwd?: string
  env?: Record<string, string>
  language?: string
  require?: string[]
}

function custom(spec: CustomAgent): ConformanceAgent {
  if (!spec.name || !Array.isArray(spec.command) || spec.command.length === 0)
    throw new Error(`KREORG_CONFORMANCE_AGENTS: an agent needs a name and a command: ${JSON.stringify(spec)}`)
  const unknown = (spec.require ?? []).filter((r) => !ALL_REQUIREMENTS.includes(r as Requirement))
  if (unknown.length > 0)
    throw new Error(
      `KREORG_CONFORMANCE_AGENTS: ${spec.name}: unknown requirements ${unknown.join(', ')} (known: ${ALL_REQUIREMENTS.join(', ')})`,
    )
  return {
    name: spec.name,
    command: spec.command,
    cwd: spec.cwd ? path.resolve(REPO, spec.cwd) : REPO,
    env: spec.env ?? {},
    ...(spec.language ? {language: spec.language} : {}),
    require: (spec.require ?? []) as Requirement[],
    prepare: async () => RUNNABLE,
    builtIn: false,
  }
}

function builtIn(name: string): ConformanceAgent {
  const make = BUILT_IN[name]
  if (!make)
    throw new Error(
      `KREORG_CONFORMANCE_AGENTS: unknown agent ${JSON.stringify(name)} (built in: ${Object.keys(BUILT_IN).join(', ')}; or name=command line)`,
    )
  return make()
}

export function selectedAgents(value = process.env.KREORG_CONFORMANCE_AGENTS): ConformanceAgent[] {
  if (!value?.trim()) return Object.keys(BUILT_IN).map((name) => builtIn(name))
  if (value.trim().startsWith('[')) return (JSON.parse(value) as CustomAgent[]).map((spec) => custom(spec))
  // Names alone may be separated by commas; once a command line is given, only ';' separates agents.
  return value
    .split(value.includes('=') ? ';' : /[;,]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const equals = part.indexOf('=')
      if (equals === -1) return builtIn(part)
      return custom({
        name: part.slice(0, equals).trim(),
        command: part
          .slice(equals + 1)
          .trim()
          .split(/\s+/),
      })
    })
}

/** Built-in agents opted out with KREORG_SKIP_AGENTS=java,python (or `all`): their scenarios are skipped, not failed. */
export function skippedByEnv(name: string, value = process.env.KREORG_SKIP_AGENTS): boolean {
  const names = new Set((value ?? '').split(/[\s,]+/).map((s) => s.trim().toLowerCase()))
  return names.has(name.toLowerCase()) || names.has('all')
}

/**
 * A built-in agent that cannot be prepared (toolchain missing) is a failure, not a skip: the suite must
 * not pass by running nothing. Only an explicit KREORG_SKIP_AGENTS=<name> turns it into a skip.
 */
export function unavailableFails(agent: ConformanceAgent): boolean {
  return agent.builtIn && !skippedByEnv(agent.name)
}
