import {KreorgError} from '../core/errors.js'

/**
 * Which Kafka client errors mean what, in one place: callers decide whether to retry, wait or give up
 * from these, never from error names or messages of their own.
 */

/**
 * A Kafka client error that the next attempt may well not hit: a broker died or restarted, a leader
 * moved, a connection was reset. Recognised by name/flag so this file needs no client import.
 */
export function isTransientKafkaError(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || !error.name.startsWith('KafkaJS')) return false
  if ((error as {retriable?: unknown}).retriable === true) return true
  // GroupCoordinatorNotFound: kafkajs gives up finding a coordinator that is still being created or
  // loaded (the first group or transaction on a cluster creates __consumer_offsets/__transaction_state).
  if (/Connection|Timeout|NumberOfRetriesExceeded|BrokerNotFound|Metadata|GroupCoordinatorNotFound/.test(error.name)) return true
  // kafkajs's retrier wraps what it gave up on as KafkaJSNonRetriableError; judge the original.
  const cause = (error as {cause?: unknown}).cause
  return depth < 3 && cause !== error && isTransientKafkaError(cause, depth + 1)
}

const MEMBERSHIP_CHANGED = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS'])

/**
 * An offset commit for a group believed empty was refused because members (re)joined it meanwhile
 * (e.g. after a coordinator failover): the group is active after all. Covers the broker's own error
 * codes and KafkaCluster.commitOffsets's refusal of a group with active members.
 */
export function membersJoinedMeanwhile(error: unknown): boolean {
  const type = (error as {type?: unknown} | null)?.type
  if (typeof type === 'string' && MEMBERSHIP_CHANGED.has(type)) return true
  return error instanceof KreorgError && /active member/.test(error.message)
}
