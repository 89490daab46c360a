import type {logCreator, Message, ProducerConfig, RecordMetadata, Transaction} from 'kafkajs'

import kafkajs from 'kafkajs'
import {createInterface} from 'node:readline'

/**
 * Conformance driver for the kafkajs agent (`kreorg/agent`): one JSON request per stdin line, one JSON
 * reply per stdout line, logs on stderr (contract: test/conformance/README.md).
 *
 * The suite transpiles this file to .kreorg-test/conformance/kafkajs-driver.mjs and runs it with node;
 * it imports the package's public entry `kreorg/agent` (the built dist/, so `npm run build` first), the
 * way an application would. KREORG_CONFORMANCE_AGENT_MODULE points it at another build instead.
 */
/* eslint-disable n/no-process-exit, unicorn/no-process-exit -- a driver is a small CLI: its exit status is part of the contract */
import type * as AgentModule from '../../../src/agent/index.js'

interface Request {
  op?: unknown
  id?: unknown
  key?: unknown
  value?: unknown
}

// stdout carries protocol lines only: anything a library prints goes to stderr.
console.log = console.error
console.info = console.error
console.debug = console.error

function reply(message: Record<string, unknown>, request?: Request): void {
  const withId = request && typeof request.id === 'number' ? {...message, id: request.id} : message
  process.stdout.write(`${JSON.stringify(withId)}\n`)
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} [kreorg-kafkajs-driver] ${message}\n`)
}

function errorReply(error: unknown, request: Request): void {
  const code = (error as {code?: unknown; type?: unknown; name?: unknown}) ?? {}
  const name =
    typeof code.code === 'string'
      ? code.code
      : typeof code.type === 'string'
        ? code.type
        : typeof code.name === 'string'
          ? code.name
          : 'ERROR'
  reply({op: 'error', error: error instanceof Error ? error.message : String(error), code: name}, request)
}

const stderrLogs: logCreator = () => (entry) => {
  const {message, ...extra} = entry.log
  log(`kafkajs ${entry.namespace} ${message} ${JSON.stringify(extra)}`)
}

function required(name: string): string {
  const value = process.env[name]
  if (!value) {
    log(`${name} is required`)
    process.exit(2)
  }
  return value
}

// kafkajs is CommonJS: its named exports come through the default import.
const {Kafka, Partitioners, logLevel} = kafkajs

const PARTITIONERS = {murmur2: Partitioners.DefaultPartitioner, legacy: Partitioners.LegacyPartitioner} as const

async function main(): Promise<void> {
  const {env} = process
  const brokers = required('KREORG_BROKERS').split(',')
  const topic = required('KREORG_TOPIC')
  const transactionalId = env.KREORG_TRANSACTIONAL_ID || undefined
  const partitionerName = env.KREORG_PARTITIONER || 'murmur2'
  if (!(partitionerName in PARTITIONERS)) {
    log(`KREORG_PARTITIONER=${partitionerName}: kafkajs offers murmur2 (DefaultPartitioner) and legacy`)
    process.exit(2)
  }
  const modulePath = env.KREORG_CONFORMANCE_AGENT_MODULE || 'kreorg/agent'
  const {createProducerAgent} = (await import(modulePath)) as typeof AgentModule

  const kafka = new Kafka({brokers, clientId: 'kreorg-conformance-kafkajs', logLevel: logLevel.WARN, logCreator: stderrLogs})
  const producer: ProducerConfig = {
    createPartitioner: PARTITIONERS[partitionerName as keyof typeof PARTITIONERS],
    ...(transactionalId ? {transactionalId, idempotent: true, maxInFlightRequests: 1} : {}),
  }
  const agent = await createProducerAgent({
    kafka,
    producer,
    topics: [topic],
    controlTopic: env.KREORG_CONTROL_TOPIC || 'kreorg-control',
    ...(env.KREORG_AGENT_ID ? {agentId: env.KREORG_AGENT_ID} : {}),
    clientId: 'kreorg-conformance-kafkajs',
    ...(env.KREORG_CONTROL_SECRET ? {secret: env.KREORG_CONTROL_SECRET} : {}),
    heartbeatMs: Number(env.KREORG_HEARTBEAT_MS || 1000),
    logger: {warn: (message) => log(`WARN ${message}`), info: (message) => log(message)},
  })
  log(`agent ${agent.agentId} ready on ${topic}${transactionalId ? ` (transactional id ${transactionalId})` : ''}`)

  // Transactions: begin/commit/abort run one after another, and sends made after a begin go into that
  // transaction once it has begun (begin itself waits while a topic is paused).
  let transaction: Transaction | undefined
  let transactionSends: Array<Promise<unknown>> = []
  let transactional: Promise<void> = Promise.resolve()
  const inOrder = (task: () => Promise<void>): void => {
    transactional = transactional.then(task, task)
  }

  const send = async (request: Request): Promise<void> => {
    const message: Message = {
      key: typeof request.key === 'string' ? request.key : null,
      value: typeof request.value === 'string' ? request.value : null,
    }
    try {
      const metadata: RecordMetadata[] = transaction
        ? await transaction.send({topic, messages: [message]})
        : await agent.send({topic, messages: [message]})
      const written = metadata[0]
      if (!written) throw new Error('the producer returned no record metadata')
      reply({op: 'sent', partition: written.partition, offset: Number(written.baseOffset ?? written.offset)}, request)
    } catch (error) {
      errorReply(error, request)
    }
  }

  const endTransaction = async (request: Request, how: 'commit' | 'abort'): Promise<void> => {
    try {
      if (!transaction) throw new Error(`${how} without an open transaction`)
      await Promise.allSettled(transactionSends)
      await (how === 'commit' ? transaction.commit() : transaction.abort())
      transaction = undefined
      transactionSends = []
      reply({op: 'ok'}, request)
    } catch (error) {
      errorReply(error, request)
    }
  }

  let closing = false
  const close = async (request?: Request): Promise<void> => {
    if (closing) return
    closing = true
    try {
      await agent.close()
    } catch (error) {
      log(`close failed: ${error instanceof Error ? error.stack : String(error)}`)
    }
    if (request) reply({op: 'closed'}, request)
    process.stdout.write('', () => process.exit(0))
  }

  reply({op: 'ready'})
  const lines = createInterface({input: process.stdin})
  lines.on('line', (line) => {
    if (!line.trim()) return
    let request: Request
    try {
      request = JSON.parse(line) as Request
    } catch (error) {
      reply({op: 'error', error: `bad request: ${error instanceof Error ? error.message : String(error)}`, code: 'BAD_REQUEST'})
      return
    }
    switch (request.op) {
      case 'send': {
        if (transactionalId) {
          inOrder(async () => {
            transactionSends.push(send(request))
          })
        } else {
          void send(request)
        }
        return
      }
      case 'begin': {
        inOrder(async () => {
          try {
            transaction = await agent.transaction()
            transactionSends = []
            reply({op: 'ok'}, request)
          } catch (error) {
            errorReply(error, request)
          }
        })
        return
      }
      case 'commit':
      case 'abort': {
        inOrder(() => endTransaction(request, request.op as 'commit' | 'abort'))
        return
      }
      case 'state': {
        const state = agent.topicState(topic)
        reply(
          {
            op: 'state',
            state: state.state,
            partitionCount: state.partitionCount ?? agent.partitionCount(topic),
            pinnedPartitions: state.pinnedPartitions ?? null,
            held: agent.buffered,
          },
          request,
        )
        return
      }
      case 'close': {
        void close(request)
        return
      }
      default: {
        reply({op: 'error', error: `unknown op ${JSON.stringify(request.op)}`, code: 'BAD_REQUEST'}, request)
      }
    }
  })
  // stdin closed without a close request: shut down cleanly anyway.
  lines.on('close', () => void close())
}

try {
  await main()
} catch (error) {
  log(`driver failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
}
