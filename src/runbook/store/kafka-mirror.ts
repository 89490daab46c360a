import type {ConnectionOptions} from '../../kafka/types.js'
import type {Checkpoint} from '../checkpoint.js'

import {CONTROL_TOPIC_CONFIG, DEFAULT_CONTROL_TOPIC} from '../../control/schema.js'
import {createKafkaClient} from '../../kafka/client.js'
import {ControlLog} from '../../kafka/control-log.js'
import {encodeRunState, runStateKey} from './kafka-records.js'

/**
 * Writes checkpoints to the control topic. Opened lazily on the first write (the connection is the
 * run's, known only once it started), append-only: it never reads the topic, so a run pays one produce
 * round trip per checkpoint and no consumer group join.
 */
export class KafkaCheckpointMirror {
  private log: ControlLog | undefined
  private opening: Promise<ControlLog> | undefined

  constructor(readonly topic: string = DEFAULT_CONTROL_TOPIC) {}

  private open(connection: () => ConnectionOptions): Promise<ControlLog> {
    this.opening ??= (async () => {
      const log = new ControlLog(createKafkaClient(connection()), {topic: this.topic, role: 'state', topicConfig: CONTROL_TOPIC_CONFIG})
      await log.ensureTopic(true)
      this.log = log
      return log
    })()
    // A failed open is retried on the next write (the cluster may be back).
    this.opening.catch(() => (this.opening = undefined))
    return this.opening
  }

  /** `connection` is asked only when the topic has to be opened. */
  async write(checkpoint: Checkpoint, connection: () => ConnectionOptions): Promise<void> {
    const log = await this.open(connection)
    await log.append(runStateKey(checkpoint.runId), encodeRunState(checkpoint))
  }

  async close(): Promise<void> {
    await this.log?.stop()
    this.log = undefined
    this.opening = undefined
  }
}
