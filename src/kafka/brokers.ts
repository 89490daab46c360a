import {KreorgError} from '../core/errors.js'

/**
 * Parses `--brokers` / KAFKA_BROKERS ("host:port,host:port", IPv6 as "[::1]:9092") before anything
 * connects, so a typo fails fast with the offending entry named.
 */
export function parseBrokers(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') {
    throw new KreorgError('usage', 'no Kafka brokers given', {
      suggestions: ['pass --brokers host:9092[,host2:9092] or set KAFKA_BROKERS'],
    })
  }
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(entry)
      const port = match ? Number(match[2]) : Number.NaN
      if (!match || port < 1 || port > 65_535) {
        throw new KreorgError('usage', `malformed broker address "${entry}" in --brokers: expected host:port`, {
          suggestions: ['example: --brokers kafka-1:9092,kafka-2:9092 (or KAFKA_BROKERS)'],
        })
      }
      return entry
    })
}
