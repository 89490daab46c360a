/**
 * Flexible-version (KIP-482) wire helpers on top of kafkajs's Encoder/Decoder.
 *
 * kafkajs 2.2.4 sends request header v1 and reads response header v0. Flexible APIs use request header
 * v2 / response header v1, which only add an empty tagged-field section: the request body starts with
 * one 0x00 byte, the response body with a tagged-field section to skip. kafkajs's own flexible request
 * (ListPartitionReassignments) does the same.
 */
import {Decoder, Encoder, type KafkajsDecoder, type KafkajsEncoder, type ProtocolRequest} from './kafkajs-internals.js'

/** Writer for flexible versions: compact strings and arrays, tagged fields. */
export class Writer {
  readonly encoder: KafkajsEncoder = new Encoder()

  int8(value: number): this {
    this.encoder.writeInt8(value)
    return this
  }

  int16(value: number): this {
    this.encoder.writeInt16(value)
    return this
  }

  int32(value: number): this {
    this.encoder.writeInt32(value)
    return this
  }

  int64(value: number | string): this {
    this.encoder.writeInt64(String(value))
    return this
  }

  bool(value: boolean): this {
    this.encoder.writeBoolean(value)
    return this
  }

  /** COMPACT_(NULLABLE_)STRING. */
  string(value: string | null): this {
    this.encoder.writeUVarIntString(value)
    return this
  }

  /** COMPACT_(NULLABLE_)ARRAY. */
  array<T>(items: readonly T[] | null, each: (writer: this, item: T) => void): this {
    if (items === null) {
      this.encoder.writeUVarInt(0)
      return this
    }
    this.encoder.writeUVarInt(items.length + 1)
    for (const item of items) each(this, item)
    return this
  }

  /** An empty tagged-field section. */
  tags(): this {
    this.encoder.writeUVarInt(0)
    return this
  }
}

/** Reader for flexible versions. int64 values become JS numbers: offsets, ids and timestamps stay far below 2^53. */
export class Reader {
  readonly decoder: KafkajsDecoder

  constructor(buffer: Buffer) {
    this.decoder = new Decoder(buffer)
  }

  int8(): number {
    return this.decoder.readInt8()
  }

  int16(): number {
    return this.decoder.readInt16()
  }

  int32(): number {
    return this.decoder.readInt32()
  }

  int64(): number {
    return Number(this.decoder.readInt64().toString())
  }

  bool(): boolean {
    return this.decoder.readBoolean()
  }

  nullableString(): string | null {
    return this.decoder.readUVarIntString()
  }

  /** A non-nullable string; a null on the wire (a broker bug) reads as ''. */
  string(): string {
    return this.decoder.readUVarIntString() ?? ''
  }

  /** COMPACT_(NULLABLE_)BYTES; null reads as an empty buffer. */
  bytes(): Buffer {
    const length = this.decoder.readUVarInt() - 1
    if (length <= 0) return Buffer.alloc(0)
    const bytes = this.decoder.buffer.subarray(this.decoder.offset, this.decoder.offset + length)
    this.decoder.forward(length)
    return Buffer.from(bytes)
  }

  /** A UUID as Kafka prints topic ids: base64url without padding. */
  uuid(): string {
    const bytes = this.decoder.buffer.subarray(this.decoder.offset, this.decoder.offset + 16)
    this.decoder.forward(16)
    return Buffer.from(bytes).toString('base64url')
  }

  /** A COMPACT_ARRAY; a null array reads as []. */
  array<T>(each: (reader: this) => T): T[] {
    const length = this.decoder.readUVarInt() - 1
    const items: T[] = []
    for (let i = 0; i < length; i++) items.push(each(this))
    return items
  }

  /** Skips a tagged-field section. */
  tags(): void {
    this.decoder.readTaggedFields()
  }
}

export interface FlexibleRequestSpec<T> {
  apiKey: number
  apiVersion: number
  apiName: string
  body(writer: Writer): void
  decode(reader: Reader): T
}

/** A request/response pair for a kafkajs broker's `connectionPool.send()`. */
export function flexibleRequest<T>(spec: FlexibleRequestSpec<T>): ProtocolRequest<T> {
  return {
    request: {
      apiKey: spec.apiKey,
      apiVersion: spec.apiVersion,
      apiName: spec.apiName,
      async encode() {
        const writer = new Writer().tags() // request header v2: its tagged fields come first in the body
        spec.body(writer)
        return writer.encoder
      },
    },
    response: {
      async decode(raw) {
        const reader = new Reader(raw)
        reader.tags() // response header v1 tagged fields
        return spec.decode(reader)
      },
      parse: async (data) => data,
    },
  }
}
