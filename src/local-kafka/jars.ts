import {spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** The Apache Kafka release the tests, the demo and the benchmarks run against. */
export const KAFKA_VERSION = '4.3.1'

/**
 * What Maven copies into the cache: the broker (kafka_2.13), Kafka's own CLI tool classes
 * (kafka-tools: benchmarks compare against them, and it brings the Connect runtime), the FileStream
 * connectors (connect-file: the Kafka Connect tests run a real worker with FileStreamSource) and an
 * SLF4J binding so the broker logs somewhere. 4.3.1 is the newest version at which both kafka_2.13
 * and kafka-tools resolve. Changing this list changes the cache marker, so the jars are fetched again once.
 */
export const KAFKA_ARTIFACTS: ReadonlyArray<{groupId: string; artifactId: string; version: string}> = [
  {groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION},
  {groupId: 'org.apache.kafka', artifactId: 'kafka-tools', version: KAFKA_VERSION},
  {groupId: 'org.apache.kafka', artifactId: 'connect-file', version: KAFKA_VERSION},
  {groupId: 'org.slf4j', artifactId: 'slf4j-api', version: '2.0.17'},
  {groupId: 'org.slf4j', artifactId: 'slf4j-simple', version: '2.0.17'},
]

/** Written into the lib dir only after Maven succeeded, so an interrupted download is redone. */
const MARKER = '.kreorg-complete.json'

export interface KafkaJars {
  /** Directory holding every jar. */
  libDir: string
  /** A java `-cp` value: `<libDir>/*` (java expands the wildcard itself). */
  classpath: string
}

/** `$XDG_CACHE_HOME/kreorg/kafka-<version>`, else `~/.cache/kreorg/kafka-<version>`. */
export function kafkaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.trim() !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache')
  return path.join(base, 'kreorg', `kafka-${KAFKA_VERSION}`)
}

function jarsAt(libDir: string): KafkaJars {
  return {libDir, classpath: `${libDir}${path.sep}*`}
}

function markerContent(): string {
  return `${JSON.stringify({version: KAFKA_VERSION, artifacts: KAFKA_ARTIFACTS}, null, 2)}\n`
}

/** The cached jars when a previous download completed with the same artifact list; no network, no Maven. */
export async function cachedKafkaJars(env: NodeJS.ProcessEnv = process.env): Promise<KafkaJars | undefined> {
  const libDir = path.join(kafkaCacheDir(env), 'lib')
  try {
    if ((await readFile(path.join(libDir, MARKER), 'utf8')) !== markerContent()) return undefined
    const jars = (await readdir(libDir)).filter((name) => name.endsWith('.jar'))
    return jars.some((name) => name.startsWith(`kafka_2.13-${KAFKA_VERSION}`)) ? jarsAt(libDir) : undefined
  } catch {
    return undefined
  }
}

export interface ToolStatus {
  ok: boolean
  /** What was found (or why not), for error messages. */
  detail: string
  command: string
}

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.JAVA_HOME
  if (home) {
    const candidate = path.join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java')
    if (existsSync(candidate)) return candidate
  }
  return 'java'
}

/** Java 17+ is what Kafka 4 needs (brokers and tools). */
export function detectJava(env: NodeJS.ProcessEnv = process.env): ToolStatus {
  const command = javaCommand(env)
  const result = spawnSync(command, ['-version'], {env, encoding: 'utf8', timeout: 20_000})
  if (result.error) return {ok: false, command, detail: 'java not found'}
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`)
  if (!match) return {ok: false, command, detail: 'java found but `java -version` printed no version'}
  // "1.8.0_x" is Java 8; from 9 on the first number is the major version.
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1])
  return major >= 17 ? {ok: true, command, detail: `Java ${major}`} : {ok: false, command, detail: `Java ${major} found, 17+ needed`}
}

export function detectMaven(env: NodeJS.ProcessEnv = process.env): ToolStatus {
  const command = process.platform === 'win32' ? 'mvn.cmd' : 'mvn'
  const result = spawnSync(command, ['-v'], {env, encoding: 'utf8', timeout: 30_000})
  if (result.error || result.status !== 0) return {ok: false, command, detail: 'mvn not found'}
  const version = /Apache Maven (\S+)/.exec(result.stdout)?.[1]
  return {ok: true, command, detail: `Maven ${version ?? '(unknown version)'}`}
}

function pom(): string {
  const dependencies = KAFKA_ARTIFACTS.map(
    (a) =>
      `    <dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId><version>${a.version}</version></dependency>`,
  ).join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kreorg (src/local-kafka): the jars of a local Apache Kafka for tests, the demo and benchmarks. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kreorg</groupId><artifactId>local-kafka</artifactId><version>${KAFKA_VERSION}</version><packaging>pom</packaging>
  <dependencies>
${dependencies}
  </dependencies>
</project>
`
}

function run(
  command: string,
  args: string[],
  options: {cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal},
): Promise<{code: number | null; output: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal})
    let output = ''
    const collect = (chunk: Buffer) => {
      // Keep the tail only: Maven can be chatty when it fails.
      output = (output + chunk.toString()).slice(-20_000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', reject)
    child.on('close', (code) => resolve({code, output}))
  })
}

/**
 * The Kafka jars, downloaded once with Maven into the cache dir. Maven writes into a private
 * staging dir that is renamed into place after it succeeded, so two processes downloading at
 * once never see each other's half-written jars, and an interrupted download is simply redone.
 */
export async function ensureKafkaJars(
  options: {env?: NodeJS.ProcessEnv; log?: (line: string) => void; signal?: AbortSignal} = {},
): Promise<KafkaJars> {
  const env = options.env ?? process.env
  const cached = await cachedKafkaJars(env)
  if (cached) return cached
  const maven = detectMaven(env)
  if (!maven.ok) throw new Error(`cannot download Apache Kafka ${KAFKA_VERSION}: ${maven.detail}; install Maven (and Java 17+)`)
  const cacheDir = kafkaCacheDir(env)
  const libDir = path.join(cacheDir, 'lib')
  const staging = path.join(cacheDir, `lib.partial-${process.pid}-${Date.now()}`)
  await mkdir(cacheDir, {recursive: true})
  const pomFile = path.join(cacheDir, `pom-${process.pid}.xml`)
  await writeFile(pomFile, pom())
  options.log?.(`downloading Apache Kafka ${KAFKA_VERSION} jars with Maven into ${libDir} (once)`)
  const started = Date.now()
  try {
    const result = await run(maven.command, ['-q', '-B', '-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`], {
      cwd: cacheDir,
      env,
      signal: options.signal,
    })
    if (result.code !== 0) {
      throw new Error(
        `Maven could not download Apache Kafka ${KAFKA_VERSION} (exit ${result.code}):\n${result.output.trim().split('\n').slice(-30).join('\n')}`,
      )
    }
    await writeFile(path.join(staging, MARKER), markerContent())
    // A stale, unmarked lib dir is a previous interrupted download: replace it.
    if (!(await cachedKafkaJars(env))) {
      await rm(libDir, {recursive: true, force: true})
      try {
        await rename(staging, libDir)
      } catch (error) {
        // Another process finished first and its rename won; its jars are as good as ours.
        if (!(await cachedKafkaJars(env))) throw error
      }
    }
  } finally {
    await rm(staging, {recursive: true, force: true})
    await rm(pomFile, {force: true})
  }
  const jars = await cachedKafkaJars(env)
  if (!jars) throw new Error(`Maven finished but ${libDir} does not hold Apache Kafka ${KAFKA_VERSION}`)
  options.log?.(`Apache Kafka ${KAFKA_VERSION} jars ready in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  return jars
}
