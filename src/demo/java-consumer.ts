import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import type {KafkaCluster} from '../kafka/types.js'
import type {DemoValue} from './traffic.js'

import {detectJava, javaCommand} from '../local-kafka/index.js'
import {ReceivedLedger} from './ledger.js'

/**
 * Apache Kafka's own console consumer (the broker's jars) in a consumer group with
 * `auto.offset.reset=latest`, default auto-commit: how an operator reads a topic. It learns of new
 * partitions at its metadata refresh and then starts them at their end, so records written there
 * before that are skipped (KAFKA-12478) unless the partitions are grown with kreorg.
 */
export class JavaDemoGroup {
  readonly received = new ReceivedLedger()
  private child: ChildProcessWithoutNullStreams | undefined
  private exit: Promise<unknown> | undefined
  private exited = false
  private stderrTail = ''

  constructor(private readonly options: {brokers: string; classpath: string; topic: string; groupId: string; metadataMaxAgeMs: number}) {}

  /** Why the Java group cannot run here (the demo then goes on without it), or undefined. */
  static unavailable(classpath: string | undefined): string | undefined {
    if (!classpath) return 'no Kafka jars cached (Docker or an external cluster): the Java console consumer group is left out'
    const java = detectJava()
    return java.ok ? undefined : `no Java 17+ (${java.detail}): the Java console consumer group is left out`
  }

  async start(): Promise<void> {
    const {brokers, classpath, topic, groupId, metadataMaxAgeMs} = this.options
    const args = [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      classpath,
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--group',
      groupId,
      '--command-property',
      'auto.offset.reset=latest',
      '--command-property',
      `metadata.max.age.ms=${metadataMaxAgeMs}`,
    ]
    const child = spawn(javaCommand(), args, {stdio: ['pipe', 'pipe', 'pipe']})
    this.child = child
    // The demo interrupted (Ctrl-C, an error) must not leave a JVM consuming forever.
    const orphanGuard = () => child.kill('SIGKILL')
    process.once('exit', orphanGuard)
    this.exit = new Promise((resolve) => {
      child.on('exit', resolve)
      child.on('error', resolve)
    }).then(() => {
      this.exited = true
      process.off('exit', orphanGuard)
    })
    let pending = ''
    const onText = (text: string) => {
      pending += text
      let newline: number
      while ((newline = pending.indexOf('\n')) >= 0) {
        this.line(pending.slice(0, newline))
        pending = pending.slice(newline + 1)
      }
    }
    child.stdout.on('data', (chunk: Buffer) => onText(chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000)))
  }

  private line(line: string): void {
    try {
      const value = JSON.parse(line) as Partial<DemoValue>
      if (typeof value.k === 'string' && typeof value.s === 'number') this.received.record(value.k, value.s)
    } catch {
      // not a record (tool chatter)
    }
  }

  /**
   * Until the group committed a position on every partition (the Java consumer commits every assigned
   * partition, even an empty one): from then on `latest` skips nothing already there.
   */
  async ready(cluster: KafkaCluster, partitions: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      signal?.throwIfAborted()
      if (this.exited) throw new Error(`the Java console consumer of ${this.options.groupId} exited: ${this.stderrTail}`)
      const committed = await cluster.committedOffsets(this.options.groupId, this.options.topic)
      if (committed.filter((c) => c.offset >= 0).length >= partitions) return
      if (Date.now() > deadline)
        throw new Error(
          `the Java console consumer of ${this.options.groupId} held no position on all ${partitions} partitions after ${timeoutMs} ms`,
        )
      await sleep(500)
    }
  }

  /** SIGTERM: its shutdown hook closes the consumer (commits, leaves the group). */
  async stop(): Promise<void> {
    const child = this.child
    if (!child || this.exited) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await this.exit
    clearTimeout(timer)
  }
}
