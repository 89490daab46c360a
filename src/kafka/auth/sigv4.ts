import {createHash, createHmac} from 'node:crypto'

/**
 * AWS Signature Version 4, only as much as kreorg needs: presigned GET requests (MSK IAM signs a
 * `kafka-cluster:Connect` request this way) and header-signed requests (kept because the AWS test
 * suite's vectors are header-signed, and they are what proves this signer right).
 * Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When temporary credentials stop working; absent for long-term keys. */
  expiration?: Date
}

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'
/** SHA-256 of the empty string: the payload hash of a request without a body. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex')
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

/** RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 requires (encodeURIComponent leaves !'()* alone). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replaceAll(/[!'()*]/g, (c) => `%${c.codePointAt(0)!.toString(16).toUpperCase()}`)
}

/** `20150830T123600Z` and `20150830` for a date. */
export function amzDate(date: Date): {amzDate: string; dateStamp: string} {
  const iso = date
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  return {amzDate: iso, dateStamp: iso.slice(0, 8)}
}

/** Parameters sorted by encoded name (then value), each name and value encoded. */
export function canonicalQueryString(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

export function signingKey(secretAccessKey: string, dateStamp: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, dateStamp), region), service), 'aws4_request')
}

export interface SigningRequest {
  method: string
  /** Absolute path, already in its final form ("/" for MSK). */
  path: string
  query: Readonly<Record<string, string>>
  /** Every header to sign, including host. */
  headers: Readonly<Record<string, string>>
  payloadHash: string
}

export interface SigningScope {
  region: string
  service: string
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string
}

export interface Signature {
  canonicalRequest: string
  stringToSign: string
  credentialScope: string
  signedHeaders: string
  signature: string
}

export function signRequest(request: SigningRequest, scope: SigningScope, secretAccessKey: string): Signature {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replaceAll(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const signedHeaders = headers.map(([name]) => name).join(';')
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQueryString(request.query),
    headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    request.payloadHash,
  ].join('\n')
  const dateStamp = scope.amzDate.slice(0, 8)
  const credentialScope = `${dateStamp}/${scope.region}/${scope.service}/aws4_request`
  const stringToSign = [SIGV4_ALGORITHM, scope.amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n')
  const signature = hmac(signingKey(secretAccessKey, dateStamp, scope.region, scope.service), stringToSign).toString('hex')
  return {canonicalRequest, stringToSign, credentialScope, signedHeaders, signature}
}

export interface PresignInput {
  method: string
  host: string
  path: string
  /** The request's own parameters (the X-Amz-* ones are added here). */
  query: Readonly<Record<string, string>>
  payloadHash: string
  region: string
  service: string
  credentials: AwsCredentials
  date: Date
  expiresSeconds: number
}

/**
 * Query-string authentication ("presigning"): the X-Amz-* parameters go into the signed query, the
 * only signed header is host, and the signature is returned beside the final query.
 */
export function presign(input: PresignInput): Signature & {query: Record<string, string>} {
  const {amzDate: date, dateStamp} = amzDate(input.date)
  const query: Record<string, string> = {
    ...input.query,
    'X-Amz-Algorithm': SIGV4_ALGORITHM,
    'X-Amz-Credential': `${input.credentials.accessKeyId}/${dateStamp}/${input.region}/${input.service}/aws4_request`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(input.expiresSeconds),
    'X-Amz-SignedHeaders': 'host',
  }
  if (input.credentials.sessionToken) query['X-Amz-Security-Token'] = input.credentials.sessionToken
  const signed = signRequest(
    {method: input.method, path: input.path, query, headers: {host: input.host}, payloadHash: input.payloadHash},
    {region: input.region, service: input.service, amzDate: date},
    input.credentials.secretAccessKey,
  )
  return {...signed, query: {...query, 'X-Amz-Signature': signed.signature}}
}
