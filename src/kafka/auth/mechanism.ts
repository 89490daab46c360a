/**
 * The slice of kafkajs's custom-mechanism interface (`sasl: {mechanism, authenticationProvider}`)
 * that kreorg's own mechanisms use, declared structurally so that only src/kafka/client.ts imports
 * kafkajs; that module checks these shapes against kafkajs's own types.
 */

export interface SaslRequest {
  encode(): Buffer | Promise<Buffer>
}

export interface SaslResponse<T> {
  decode(raw: Buffer): Buffer | Promise<Buffer>
  parse(data: Buffer): T
}

export interface CustomMechanismArgs {
  host: string
  port: number
  logger: {debug(message: string, extra?: object): void}
  saslAuthenticate<T>(args: {request: SaslRequest; response?: SaslResponse<T>}): Promise<T | void>
}

export interface CustomMechanism {
  mechanism: string
  authenticationProvider(args: CustomMechanismArgs): {authenticate(): Promise<void>}
}

/** kafkajs expects SASL bytes framed like a protocol BYTES field: an int32 length, then the bytes. */
export function framedRequest(bytes: Buffer): SaslRequest {
  return {
    encode() {
      const length = Buffer.alloc(4)
      length.writeInt32BE(bytes.length)
      return Buffer.concat([length, bytes])
    },
  }
}

/** The server's SASL bytes as they are (kafkajs hands them over length-prefixed). */
export const rawServerBytes: SaslResponse<Buffer> = {
  decode(raw) {
    if (raw.length < 4) return raw
    const length = raw.readInt32BE(0)
    return length < 0 ? Buffer.alloc(0) : raw.subarray(4, 4 + length)
  },
  parse: (data) => data,
}

/** The broker's message of a failed SaslAuthenticate (kafkajs's protocol error), without the error class noise. */
export function brokerMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
