import {createHash} from 'node:crypto'

import type {ConnectorListing, ConnectorState, ConnectRestClient} from './rest-client.js'

/**
 * Which Kafka Connect source connectors write to a topic. A source connector's producer is a plain
 * Java producer kreorg cannot pin, so grow pauses those connectors from pin-producers until
 * resume-producers. Evidence, strongest first: the topic is among the connector's active topics
 * (KIP-558: it wrote there), or its config names the topic (`topic`, `topics`, `kafka.topic`, any key
 * with "topic" in its name) or a prefix of it (`topic.prefix`, as JDBC and Debezium name their topics).
 * Sink connectors consume: they are consumer groups, judged like any other.
 */

export interface ConnectWorkerInfo {
  /** The URL without userinfo. */
  url: string
  version: string
  /** Source connectors the worker listed (any topic). */
  sourceConnectors: number
}

export interface ConnectorWriter {
  /** The worker the connector was found on (URL without userinfo): where kreorg pauses and resumes it. */
  worker: string
  name: string
  /** The connector's state at discovery. */
  state: ConnectorState
  tasks: Array<{id: number; state: ConnectorState}>
  /** Why kreorg thinks it writes to the topic, e.g. "active topics", "config topic". */
  evidence: string[]
}

export interface ConnectPlan {
  workers: ConnectWorkerInfo[]
  /** Source connectors that write (or may write) to the topic, sorted by worker and name. */
  connectors: ConnectorWriter[]
  warnings: string[]
}

/** Connector states in which kreorg pauses a connector (and resumes it afterwards). */
export function kreorgPauses(state: ConnectorState): boolean {
  return state !== 'PAUSED' && state !== 'STOPPED'
}

/** Config keys (and values) that say a source connector writes to `topic`. Pure. */
export function configEvidence(config: Readonly<Record<string, string>>, topic: string): string[] {
  const evidence: string[] = []
  for (const [key, value] of Object.entries(config).sort(([a], [b]) => a.localeCompare(b))) {
    const lower = key.toLowerCase()
    // topic.creation.* (KIP-158) configures the topics a connector creates; it never names one.
    if (!lower.includes('topic') || lower.startsWith('topic.creation.')) continue
    const values = value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
    if (lower.endsWith('prefix')) {
      if (values.some((prefix) => topic.startsWith(prefix))) evidence.push(`config ${key}`)
    } else if (values.includes(topic)) {
      evidence.push(`config ${key}`)
    }
  }
  return evidence
}

/** Same name, same Kafka cluster and same config: one connector listed by two workers of one Connect cluster. */
function identity(listing: ConnectorListing, kafkaClusterId: string | undefined): string {
  const config = createHash('sha256')
    .update(JSON.stringify(Object.entries(listing.config).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex')
  return `${kafkaClusterId ?? '?'}\u0000${listing.name}\u0000${config}`
}

/** Reads every worker's connectors and keeps the source connectors that write to `topic`. */
export async function discoverConnectWriters(clients: readonly ConnectRestClient[], topic: string): Promise<ConnectPlan> {
  const plan: ConnectPlan = {workers: [], connectors: [], warnings: []}
  const seen = new Map<string, string>()
  for (const client of clients) {
    const info = await client.serverInfo()
    const listings = await client.listConnectors()
    const sources = listings.filter((l) => l.type === 'source')
    plan.workers.push({url: client.url, version: info.version, sourceConnectors: sources.length})
    for (const listing of listings.filter((l) => l.type !== 'source' && l.type !== 'sink')) {
      if (configEvidence(listing.config, topic).length > 0)
        plan.warnings.push(
          `connector ${listing.name} on ${client.url} has type "${listing.type}" (its plugin does not load?) and names ${topic} in its config: kreorg cannot tell whether it writes there`,
        )
    }
    for (const listing of sources.sort((a, b) => a.name.localeCompare(b.name))) {
      const active = await client.activeTopics(listing.name)
      const evidence = [...(active?.includes(topic) ? ['active topics'] : []), ...configEvidence(listing.config, topic)]
      if (evidence.length === 0) continue
      const id = identity(listing, info.kafkaClusterId)
      const already = seen.get(id)
      if (already !== undefined) {
        plan.warnings.push(
          `connector ${listing.name} is listed by ${already} and ${client.url}: one Connect cluster, paused once through ${already}`,
        )
        continue
      }
      seen.set(id, client.url)
      plan.connectors.push({
        worker: client.url,
        name: listing.name,
        state: listing.status.state,
        tasks: listing.status.tasks.map((t) => ({id: t.id, state: t.state})),
        evidence,
      })
    }
  }
  plan.warnings.push(...connectorWarnings(plan.connectors, topic))
  return plan
}

/** What an operator should know about connectors kreorg will not pause. Pure. */
export function connectorWarnings(connectors: readonly ConnectorWriter[], topic: string): string[] {
  const warnings: string[] = []
  for (const c of connectors) {
    if (c.state === 'PAUSED') {
      warnings.push(
        `Kafka Connect connector ${c.name} (${c.worker}) writes to ${topic} and is PAUSED already: kreorg leaves it paused and restarts its tasks at resume-producers, so that it writes with the new partition count once resumed; do not resume it before the run finishes`,
      )
    } else if (c.state === 'STOPPED') {
      warnings.push(
        `Kafka Connect connector ${c.name} (${c.worker}) names ${topic} and is STOPPED: kreorg leaves it stopped; do not resume it before the run finishes`,
      )
    }
    const failed = c.tasks.filter((t) => t.state === 'FAILED')
    if (failed.length > 0) {
      warnings.push(
        `Kafka Connect connector ${c.name} (${c.worker}) has FAILED task(s) ${failed.map((t) => t.id).join(', ')}: they write nothing and kreorg does not restart them`,
      )
    }
  }
  return warnings
}
