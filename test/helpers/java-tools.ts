import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import {cachedKafkaJars, detectJava, javaCommand} from '../../src/local-kafka/index.js'

/**
 * Apache Kafka's own Java clients (ConsoleConsumer, ConsoleProducer, small single-file programs
 * from test/fixtures) against the test broker, from the jars test/global-setup.ts already cached.
 */

/** The jars' classpath, or why the Java clients cannot run here (the caller skips and says so). */
export async function javaToolsClasspath(): Promise<{classpath: string} | {skip: string}> {
  if (!detectJava().ok) return {skip: 'no Java 17+ on this machine'}
  const jars = await cachedKafkaJars()
  if (!jars) return {skip: 'no Kafka jars cached: run the suite once without KAFKA_BROKERS (needs Java 17+ and Maven)'}
  return {classpath: jars.classpath}
}

// Small heap and C1 only: JVM start-up dominates on a busy test machine.
const JVM_OPTIONS = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']

export interface JavaProcess {
  readonly pid: number | undefined
  stdout(): string
  stderr(): string
  /** Resolves once stdout contains `text`; rejects with the output so far after `timeoutMs` or if the JVM exits first. */
  waitForStdout(text: string, timeoutMs?: number): Promise<void>
  writeLine(line: string): void
  /** Closes stdin (the console producer then flushes and exits). */
  endInput(): void
  exited(): Promise<number | null>
  /** SIGTERM (clients close cleanly: a consumer leaves its group), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export function startJava(classpath: string, mainClassOrSource: string, args: string[], label = mainClassOrSource): JavaProcess {
  const child: ChildProcessWithoutNullStreams = spawn(javaCommand(), [...JVM_OPTIONS, '-cp', classpath, mainClassOrSource, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let code: number | null | undefined
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (c) => {
      code = c
      resolve(c)
    })
    child.on('error', () => resolve(null))
  })
  return {
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    async waitForStdout(text, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs
      while (!out.includes(text)) {
        if (code !== undefined) throw new Error(`${label} exited (${code}) before printing "${text}":\n${out}\n${err.slice(-2000)}`)
        if (Date.now() > deadline) throw new Error(`${label} did not print "${text}" within ${timeoutMs} ms:\n${out}\n${err.slice(-2000)}`)
        await sleep(100)
      }
    },
    writeLine(line) {
      child.stdin.write(`${line}\n`)
    },
    endInput() {
      child.stdin.end()
    },
    exited: () => exit,
    async stop(graceMs = 15_000) {
      if (code !== undefined) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exit
      clearTimeout(timer)
    },
  }
}

/** Polls `read` until `accept` holds; fails with the last value seen. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  {timeoutMs = 180_000, intervalMs = 250}: {timeoutMs?: number; intervalMs?: number} = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  let lastError: unknown
  for (;;) {
    try {
      last = await read()
      if (accept(last)) return last
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`,
      )
    }
    await sleep(intervalMs)
  }
}
