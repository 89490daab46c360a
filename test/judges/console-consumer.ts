import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'

import {cachedKafkaJars, detectJava, javaCommand} from '../../src/local-kafka/index.js'
import {parseConsoleConsumerLine, SequenceJudge} from './sequence-judge.js'

/**
 * Apache Kafka's own `kafka-console-consumer` (org.apache.kafka.tools.consumer.ConsoleConsumer from
 * the broker's jars) in a consumer group, as an operator runs it, judged line by line: its stdout is
 * the only thing read, so nothing of kreorg stands between the broker and the verdict.
 */

export type OffsetReset = 'latest' | 'earliest'
export type GroupProtocol = 'classic' | 'consumer'

export interface ConsoleConsumerSpec {
  /** Short name for reports (the group id is `<topic>-<name>`). */
  name: string
  reset: OffsetReset
  protocol: GroupProtocol
  /** Consumer `metadata.max.age.ms`; undefined = the client default (5 minutes). */
  metadataMaxAgeMs?: number
  /** `read_committed` for topics written by transactional producers (undefined = the default, read_uncommitted). */
  isolation?: 'read_committed'
}

/** The jars' classpath, or why Java clients cannot run here (callers skip and say so). */
export async function javaJudgeClasspath(): Promise<{classpath: string} | {skip: string}> {
  if (process.env.KAFKA_TOOLS_CLASSPATH) return {classpath: process.env.KAFKA_TOOLS_CLASSPATH}
  if (!detectJava().ok) return {skip: 'no Java 17+ on this machine'}
  const jars = await cachedKafkaJars()
  if (!jars) return {skip: 'no Kafka jars cached: run the suite once without KAFKA_BROKERS (needs Java 17+ and Maven)'}
  return {classpath: jars.classpath}
}

// Small heap and C1 only: JVM start-up dominates on a busy 2-core machine.
const JVM_OPTIONS = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']

/** Consumer log lines worth keeping: where a position came from, what was assigned. */
const INTERESTING_LOG =
  /Resetting offset|Setting offset for partition|Found no committed offset|Adding newly assigned partitions|Revoke previously assigned|Updating assignment|Request joining group|Successfully joined group/

export class ConsoleConsumerJudge {
  readonly judge: SequenceJudge
  readonly groupId: string
  /** Selected consumer log lines (offset resets, assignments), newest last, for a failure's story. */
  readonly log: string[] = []
  private child: ChildProcessWithoutNullStreams | undefined
  private exit: Promise<number | null> | undefined
  private exitCode: number | null | undefined
  private stderrTail = ''

  constructor(
    readonly topic: string,
    readonly spec: ConsoleConsumerSpec,
    private readonly options: {brokers: string; classpath: string},
  ) {
    this.groupId = `${topic}-${spec.name}`
    this.judge = new SequenceJudge(spec.name)
  }

  /** The exact command line, for reports: an operator can paste it. */
  commandArgs(): string[] {
    const {spec} = this
    const properties = [`auto.offset.reset=${spec.reset}`]
    if (spec.protocol === 'consumer') properties.push('group.protocol=consumer')
    if (spec.metadataMaxAgeMs !== undefined) properties.push(`metadata.max.age.ms=${spec.metadataMaxAgeMs}`)
    if (spec.isolation) properties.push(`isolation.level=${spec.isolation}`)
    return [
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      this.options.brokers,
      '--topic',
      this.topic,
      '--group',
      this.groupId,
      ...properties.flatMap((p) => ['--command-property', p]),
      ...['print.partition=true', 'print.offset=true', 'print.key=true'].flatMap((p) => ['--formatter-property', p]),
    ]
  }

  start(): void {
    const child = spawn(javaCommand(), [...JVM_OPTIONS, '-cp', this.options.classpath, ...this.commandArgs()], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.child = child
    // A test worker torn down mid-run (a timeout) must not leave a JVM consuming forever.
    const orphanGuard = () => child.kill('SIGKILL')
    process.once('exit', orphanGuard)
    this.exit = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.exitCode = code
        process.off('exit', orphanGuard)
        resolve(code)
      })
      child.on('error', () => {
        this.exitCode = null
        process.off('exit', orphanGuard)
        resolve(null)
      })
    })
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      let newline: number
      while ((newline = pending.indexOf('\n')) >= 0) {
        this.line(pending.slice(0, newline))
        pending = pending.slice(newline + 1)
      }
    })
    child.stdout.on('end', () => {
      if (pending) this.line(pending)
      pending = ''
    })
    let errPending = ''
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      this.stderrTail = (this.stderrTail + text).slice(-4000)
      errPending += text
      let newline: number
      while ((newline = errPending.indexOf('\n')) >= 0) {
        const line = errPending.slice(0, newline)
        errPending = errPending.slice(newline + 1)
        if (INTERESTING_LOG.test(line) && line.includes(this.topic))
          this.log.push(`${new Date().toISOString()} ${line.replace(/^\[[^\]]*\]\s*/, '').slice(0, 300)}`)
      }
    })
  }

  private line(raw: string): void {
    const line = raw.replace(/\r$/, '')
    if (line === '') return
    const record = parseConsoleConsumerLine(line)
    if (record) this.judge.record(record)
    else this.judge.unparsed(line)
  }

  get exited(): boolean {
    return this.exitCode !== undefined
  }

  /** Why the JVM is gone (for a set-up failure), or undefined while it runs. */
  exitReport(): string | undefined {
    return this.exitCode === undefined
      ? undefined
      : `${this.spec.name} (ConsoleConsumer) exited ${this.exitCode}: ${this.stderrTail.slice(-1500)}`
  }

  /** SIGTERM: the console consumer's shutdown hook closes the consumer (commits, leaves the group). */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.child
    if (!child || this.exitCode !== undefined) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await this.exit
    clearTimeout(timer)
  }
}
