export type LocalKafkaMode = 'external' | 'docker' | 'jars'

export interface LocalKafkaNode {
  id: number
  /** "127.0.0.1:port" as clients reach it. */
  address: string
  /** The broker's process id (jars mode; updated by restartNode), for tests that check it is gone. */
  pid?: number
}

export interface LocalKafka {
  /** Comma-separated bootstrap list, ready for --brokers / KAFKA_BROKERS. */
  brokers: string
  /** Apache Kafka version started ("unknown" for an external cluster). */
  version: string
  mode: LocalKafkaMode
  nodes: LocalKafkaNode[]
  /** Stops every node and removes their data. A no-op for an external cluster. Safe to call twice. */
  stop(): Promise<void>
  /** Graceful shutdown of one node (SIGTERM, controlled shutdown). */
  stopNode(id: number): Promise<void>
  /** SIGKILL of one node: a crash, no controlled shutdown. */
  killNode(id: number): Promise<void>
  /** Starts a stopped or killed node again with its data and ports; resolves when it is serving. */
  restartNode(id: number): Promise<void>
  /**
   * `java -cp` value holding Kafka's own CLI tool classes (kafka.admin.ConsumerGroupCommand,
   * org.apache.kafka.tools.ConsumerGroupCommand, kafka.admin.TopicCommand, ...), when the jars are
   * in the local cache.
   */
  toolsClasspath?: string
  /** Temp dir holding the nodes' configs, data and logs (jars mode); removed by stop(). */
  dataDir?: string
}

export interface StartLocalKafkaOptions {
  nodes?: 1 | 3
  /** Progress lines (what is being started or downloaded); broker logs go to files, named here on failure. */
  log?: (line: string) => void
  signal?: AbortSignal
  /**
   * 'auto' (default): KAFKA_BROKERS, else Docker, else jars. 'jars'/'docker' force a way and ignore
   * KAFKA_BROKERS (fault tests need a cluster they may kill).
   */
  mode?: 'auto' | 'jars' | 'docker'
  /** Per-node start-up limit; the error carries the node's log tail. Default 90 s. */
  startTimeoutMs?: number
  /** Environment for finding java/mvn and the cache dir (default process.env). */
  env?: NodeJS.ProcessEnv
}
