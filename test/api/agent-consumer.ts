import type {RecordMetadata, Transaction} from 'kafkajs'
import type {
  Ack,
  AgentEvent,
  AgentEventMap,
  AgentEventName,
  AgentLapsedEvent,
  AgentLogger,
  AgentPausedEvent,
  AgentPinnedEvent,
  AgentResumedEvent,
  AgentTopicState,
  AgentWarningEvent,
  Command,
  ProducerAgentOptions,
} from 'kreorg/agent'

/**
 * A program written the way an application uses `kreorg/agent`, compiled against the built
 * declarations through the package's `exports` (npm run api:check). It breaks when a documented
 * export, option, method or event changes shape, or when the declarations stop compiling for a
 * strict consumer. Changing it means changing the public API: say so in CHANGELOG.md.
 */
import {Kafka} from 'kafkajs'
import * as agentModule from 'kreorg/agent'
import {createProducerAgent, ProducerAgent} from 'kreorg/agent'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(): T | undefined {
  return undefined
}

// The runtime exports, exactly: adding one is an API change too.
assertType<Equal<keyof typeof agentModule, 'ProducerAgent' | 'createProducerAgent' | 'HeldSendsFullError' | 'SendDeadlineError'>>()
assertType<Equal<AgentEventName, 'paused' | 'resumed' | 'pinned' | 'lapsed' | 'warning'>>()
assertType<Equal<AgentTopicState['state'], 'starting' | 'running' | 'paused'>>()

const logger: AgentLogger = {warn: (message: string) => console.warn(message)}

const options: ProducerAgentOptions = {
  kafka: new Kafka({clientId: 'orders-api', brokers: ['kafka-1:9092']}),
  topics: ['orders'],
  producer: {idempotent: true},
  controlTopic: 'kreorg-control',
  agentId: 'orders-api-1',
  clientId: 'orders-api',
  secret: process.env.KREORG_CONTROL_SECRET,
  heartbeatMs: 5000,
  bufferLimit: 10_000,
  refreshTimeoutMs: 30_000,
  partitionerName: 'murmur2',
  createControlTopic: true,
  logger,
}

export async function produce(): Promise<void> {
  const agent: ProducerAgent = await createProducerAgent(options)
  const sent: RecordMetadata[] = await agent.send({topic: 'orders', messages: [{key: 'customer-1', value: '{}'}]})
  const batch: RecordMetadata[] = await agent.sendBatch({topicMessages: [{topic: 'orders', messages: [{key: 'k', value: 'v'}]}]})
  const transaction: Transaction = await agent.transaction()
  await transaction.commit()

  const id: string = agent.agentId
  const {topics}: {topics: readonly string[]} = agent
  const partitioner: string = agent.partitionerName
  const held: number = agent.buffered
  const count: number = agent.partitionCount('orders')
  const effective: number = agent.effectivePartitionCount('orders')
  const partition: number = agent.partitionFor('orders', 'customer-1')
  const explicit: number = agent.partitionFor('orders', Buffer.from('customer-1'), 16)
  const state: AgentTopicState = agent.topicState('orders')
  console.log(sent, batch, id, topics, partitioner, held, count, effective, partition, explicit, state.state, state.partitionCount)

  agent.on('paused', ({topic, runId}: AgentPausedEvent) => console.log('paused', topic, runId))
  agent.on('pinned', ({topic, partitions}: AgentPinnedEvent) => console.log('pinned', topic, partitions))
  agent.on('resumed', (event: AgentResumedEvent) => console.log('resumed', event.topic, event.runId))
  agent.on('lapsed', (event: AgentLapsedEvent) => console.log('lapsed', event.topic, event.runId ?? 'none', event.reason))
  agent.on('warning', (event: AgentWarningEvent) => console.log(event.message))
  const listener = (...args: AgentEventMap['paused']) => console.log(args[0].topic)
  agent.once('paused', listener)

  await agent.close()
  // An agent can also be built and started separately.
  const manual = new ProducerAgent(options)
  await manual.start()
  await manual.close()
}

export function describe(event: AgentEvent): string {
  switch (event.type) {
    case 'paused':
    case 'resumed': {
      return `${event.type} ${event.topic} by ${event.runId}`
    }

    case 'pinned': {
      return `pinned ${event.topic} to ${event.partitions} partitions`
    }

    case 'lapsed': {
      return `lapsed ${event.topic}: ${event.reason}`
    }

    case 'warning': {
      return event.message
    }
  }
}

// The protocol records are exported for integrators who read the control topic themselves.
export function commandKind(command: Command): string {
  return command.type
}

export function ackedPartitions(ack: Ack): number {
  return ack.partitionCount
}
