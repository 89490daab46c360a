import type {GrowContext, GrowInputs, GrowResults, GrowServices} from '../../src/steps/grow/context.js'

import {controlPortOf} from '../../src/steps/grow/control-adapter.js'
import {FakeControlChannel} from './fake-control-channel.js'
import {FakeKafkaCluster} from './fake-kafka-cluster.js'

/**
 * A grow run's world on fakes: a topic with `from` partitions and some records, one consumer group
 * that has consumed them, producer agents on the control channel, and a step context whose progress
 * lines and warnings are collected for assertions.
 */
export interface FakeGrow {
  topic: string
  group: string
  runId: string
  agentIds: string[]
  inputs: GrowInputs
  cluster: FakeKafkaCluster
  control: FakeControlChannel
  services: GrowServices
  progress: string[]
  warnings: string[]
  /** A step context on these services, with the given earlier results (as a checkpoint holds them). */
  context(results?: Partial<GrowResults>, options?: {step?: string; resumed?: boolean; signal?: AbortSignal}): GrowContext
}

export const FAKE_TOPIC = 'orders'

export function fakeGrow(
  options: {from?: number; to?: number; agents?: number; inputs?: Partial<GrowInputs>; brokers?: number} = {},
): FakeGrow {
  const topic = FAKE_TOPIC
  const group = 'billing'
  const from = options.from ?? 4
  const cluster = new FakeKafkaCluster({brokers: options.brokers ?? 3})
  cluster.addTopic(topic, {partitions: from, replicationFactor: Math.min(3, options.brokers ?? 3), records: 10})
  cluster.setGroup(group).catchUp(group, topic)
  const control = new FakeControlChannel()
  const agentIds = Array.from({length: options.agents ?? 2}, (_, i) => `agent-${i}`)
  agentIds.forEach((agentId, i) => control.addAgent(agentId, {topics: [topic], partitionCount: {[topic]: from}, producerId: 100 + i}))
  const inputs: GrowInputs = {
    topic,
    to: options.to ?? 8,
    ignoreGroups: [],
    drainTimeoutMs: 5000,
    ackTimeoutMs: 50,
    quietPeriodMs: 0,
    leaseMs: 60_000,
    pickupTimeoutMs: 5000,
    trustGroups: [],
    writerLookbackMs: 10 * 60_000,
    // The fake's initial records carry producer id -1: scanning is exercised by the writer tests only.
    writerScanMs: 0,
    ignoreProducers: [],
    allowNonIdempotent: false,
    noProducers: false,
    allowStreams: false,
    postCheckWindowMs: 0,
    controlTopic: control.controlTopic,
    controlSecretEnv: 'KREORG_CONTROL_SECRET',
    samplePerPartition: 0,
    host: 'unit-test-host',
    ...options.inputs,
  }
  const services: GrowServices = {cluster, control: controlPortOf(control), epoch: Date.now()}
  const progress: string[] = []
  const warnings: string[] = []
  const runId = `20260101-000000-grow-${topic}-abcd`
  return {
    topic,
    group,
    runId,
    agentIds,
    inputs,
    cluster,
    control,
    services,
    progress,
    warnings,
    context: (results = {}, ctxOptions = {}) => ({
      runId,
      inputs,
      results,
      services,
      signal: ctxOptions.signal ?? new AbortController().signal,
      progress: (message) => void progress.push(message),
      warn: (message) => void warnings.push(message),
      confirm: async () => true,
      resumed: ctxOptions.resumed ?? false,
      step: ctxOptions.step,
    }),
  }
}

/** What preflight records for the fake topic (the partition count before anything was added). */
export function preflightResult(world: FakeGrow, partitions = world.cluster.partitionCount(world.topic)): GrowResults['preflight'] {
  return {partitions, brokers: 3, minInsyncReplicas: 1, leaseExpiresAt: Date.now() + world.inputs.leaseMs}
}

/** The lease the run's services hold now (read through a call, so no earlier assignment narrows it). */
export function heldLease(world: FakeGrow): GrowServices['lease'] {
  return world.services.lease
}
