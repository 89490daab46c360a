/**
 * Encoding, signing and validation of control records. Decoding never throws: a record that is not
 * JSON, has an unknown version, fails its schema or its signature comes back as `{ok: false, reason}`
 * so readers log it and move on (one bad record must never stop an agent).
 */
import {createHmac, timingSafeEqual} from 'node:crypto'

import {type ControlMessage, type ParsedKey, parseKey, PROTOCOL_VERSION, schemaForKey} from './schema.js'

const SIG_PREFIX = 'hmac-sha256:'

/** JSON with object keys sorted at every level: the bytes both sides sign, whatever their JSON library's key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/** The signature covers the key too, so a signed ack can't be replayed as a command under another key. */
export function sign(key: string, message: Record<string, unknown>, secret: string): string {
  const {sig: _ignored, ...unsigned} = message
  const mac = createHmac('sha256', secret)
    .update(`${key}\n${canonicalJson(unsigned)}`)
    .digest('hex')
  return `${SIG_PREFIX}${mac}`
}

export function verify(key: string, message: Record<string, unknown>, secret: string): boolean {
  const given = message.sig
  if (typeof given !== 'string' || !given.startsWith(SIG_PREFIX)) return false
  const expected = Buffer.from(sign(key, message, secret))
  const actual = Buffer.from(given)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

export function encode(key: string, message: ControlMessage, secret?: string): Buffer {
  const {sig: _drop, ...body} = message as ControlMessage & {sig?: string}
  const signed = secret ? {...body, sig: sign(key, body, secret)} : body
  return Buffer.from(JSON.stringify(signed))
}

export type Decoded =
  | {ok: true; key: ParsedKey; message: ControlMessage}
  | {ok: true; key: ParsedKey; message: null /* tombstone */}
  | {ok: false; reason: string}

export interface DecodeOptions {
  /** With a secret, unsigned and badly signed records are rejected. */
  secret?: string
}

export function decode(rawKey: string | null | undefined, value: Buffer | string | null | undefined, options: DecodeOptions = {}): Decoded {
  if (!rawKey) return {ok: false, reason: 'record without a key'}
  // `run/<runId>`: checkpoints mirrored by `--state kafka` (src/runbook/shared-state.ts); not part of the fold.
  if (rawKey.startsWith('run/')) return {ok: false, reason: `${rawKey.slice(0, 100)}: run state record (not read by the pause protocol)`}
  const key = parseKey(rawKey)
  if (!key) return {ok: false, reason: `unknown key ${JSON.stringify(rawKey.slice(0, 100))}`}
  if (value === null || value === undefined) return {ok: true, key, message: null}
  let parsed: unknown
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'))
  } catch {
    return {ok: false, reason: `${rawKey}: value is not JSON`}
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return {ok: false, reason: `${rawKey}: value is not a JSON object`}
  const version = (parsed as {v?: unknown}).v
  if (version !== PROTOCOL_VERSION)
    return {ok: false, reason: `${rawKey}: unsupported protocol version ${JSON.stringify(version)?.slice(0, 20)}`}
  const result = schemaForKey(key).safeParse(parsed)
  if (!result.success) {
    const issue = result.error.issues[0]
    return {ok: false, reason: `${rawKey}: invalid ${issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'value'}`}
  }
  const message = result.data
  if ('topic' in message && key.kind !== 'agent' && message.topic !== key.topic)
    return {ok: false, reason: `${rawKey}: topic field does not match the key`}
  if (key.kind === 'ack' && 'agentId' in message && message.agentId !== key.agentId)
    return {ok: false, reason: `${rawKey}: agentId does not match the key`}
  if (key.kind === 'agent' && 'agentId' in message && message.agentId !== key.agentId)
    return {ok: false, reason: `${rawKey}: agentId does not match the key`}
  if (options.secret && !verify(rawKey, parsed as Record<string, unknown>, options.secret)) {
    return {
      ok: false,
      reason: `${rawKey}: ${(parsed as {sig?: unknown}).sig === undefined ? 'unsigned' : 'bad signature'} (a secret is set)`,
    }
  }
  return {ok: true, key, message}
}
