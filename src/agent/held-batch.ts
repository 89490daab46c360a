/** What a held send carries, and how large it may be once merged into a produce request. */
import type {Message, ProducerBatch} from '../kafka/client.js'

/** A held send's payload, released later as one ordered batch (see release.ts). */
export interface HeldBatch {
  acks?: number | undefined
  timeout?: number | undefined
  compression?: ProducerBatch['compression'] | undefined
  topicMessages: ReadonlyArray<{topic: string; messages: readonly Message[]}>
}

/** Upper bound of a value's size in a record (a string counts 3 bytes per UTF-16 unit). */
function sizeOf(value: unknown): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'string') return value.length * 3
  return Buffer.isBuffer(value) ? value.length : 64
}

/** Upper bound of a payload's size in a produce request, what bounds a merged batch (release.ts); computed once, when the call is made. */
export function payloadBytes(payload: HeldBatch): number {
  let bytes = 0
  for (const {messages} of payload.topicMessages) {
    for (const message of messages) {
      bytes += 64 + sizeOf(message.key) + sizeOf(message.value)
      const {headers} = message
      if (!headers) continue
      for (const name of Object.keys(headers)) {
        const value = headers[name]
        bytes += name.length + (Array.isArray(value) ? value.reduce((sum: number, v) => sum + sizeOf(v), 0) : sizeOf(value))
      }
    }
  }
  return bytes
}
