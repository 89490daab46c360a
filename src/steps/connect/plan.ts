import type {ConnectWriterFacts} from '../../connect/writers.js'
import type {InventoryInputs} from '../grow/writers.js'

import {type ConnectPlan, discoverConnectWriters, kreorgPauses} from '../../connect/discovery.js'
import {ConnectRestClient} from '../../connect/rest-client.js'
import {connectEndpoints} from '../../connect/urls.js'

/**
 * Kafka Connect in grow's plan (and `--dry-run`): which source connectors write to the topic, and
 * what the writer inventory may attribute to them while they still run. The REST clients are built
 * from the run's inputs (URLs without userinfo) and the credentials in KREORG_CONNECT_URLS, read
 * again on every start and resume: nothing secret is stored.
 */

export function connectClients(urls: readonly string[] | undefined, signal?: AbortSignal): ConnectRestClient[] {
  return connectEndpoints(urls ?? []).map((endpoint) => new ConnectRestClient(endpoint, signal ? {signal} : {}))
}

/** The connectors writing to the topic; undefined when no Connect URL was given. */
export async function planConnect(
  inputs: {topic: string; connectUrls?: string[] | undefined},
  signal?: AbortSignal,
): Promise<ConnectPlan | undefined> {
  if (!inputs.connectUrls || inputs.connectUrls.length === 0) return undefined
  return discoverConnectWriters(connectClients(inputs.connectUrls, signal), inputs.topic)
}

/** Connectors kreorg will pause (or that are paused already) count as the topic's producers. */
export function connectProducerCount(plan: ConnectPlan | undefined): number {
  return plan?.connectors.filter((c) => kreorgPauses(c.state) || c.state === 'PAUSED').length ?? 0
}

/** While the connectors still run (plan): provisional facts for the writer inventory. */
export function plannedConnectFacts(plan: ConnectPlan | undefined): ConnectWriterFacts | undefined {
  const writing = plan?.connectors.filter((c) => c.state !== 'STOPPED') ?? []
  if (writing.length === 0) return undefined
  return {phase: 'running', connectors: writing.map((c) => ({name: c.name, worker: c.worker, tasks: c.tasks.length}))}
}

/** The inventory's inputs with what Connect may account for. */
export function withConnectFacts(inputs: InventoryInputs, facts: ConnectWriterFacts | undefined): InventoryInputs {
  if (!facts) return inputs
  // After the pause, every batch written since it is scanned for -1 writes, however long ago it was
  // (unless the scan is switched off: --writer-scan 0).
  const sincePause = facts.pausedAt === undefined ? 0 : Date.now() - facts.pausedAt + 5000
  return {...inputs, connect: facts, scanMs: inputs.scanMs === 0 ? 0 : Math.max(inputs.scanMs, sincePause)}
}
