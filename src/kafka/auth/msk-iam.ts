import {brokerMessage, type CustomMechanism, framedRequest, rawServerBytes} from './mechanism.js'
import {SaslAuthError} from './sasl-auth-error.js'
import {type AwsCredentials, EMPTY_PAYLOAD_SHA256, presign, type Signature} from './sigv4.js'

/**
 * SASL `AWS_MSK_IAM`, the mechanism of Amazon MSK's IAM access control (and the only one MSK
 * Serverless accepts). The client sends one message: a JSON object holding a SigV4-presigned
 * `GET https://<broker host>/?Action=kafka-cluster:Connect` — the format of AWS's aws-msk-iam-auth
 * library (AWS4SignedPayloadGenerator, payload version "2020_10_22"): every query parameter of the
 * presigned request with its name lower-cased, plus `version`, `user-agent` and the `host` header.
 * The broker answers with a small JSON object (version, request-id) or an authentication error.
 */

export const MSK_IAM_MECHANISM = 'AWS_MSK_IAM'
export const MSK_IAM_SERVICE = 'kafka-cluster'
export const MSK_IAM_ACTION = 'kafka-cluster:Connect'
export const MSK_IAM_PAYLOAD_VERSION = '2020_10_22'
/** The lifetime aws-msk-iam-auth gives its signatures (15 minutes). */
export const MSK_IAM_EXPIRES_SECONDS = 900

/** A region name: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/
/** MSK broker and bootstrap hosts: b-1.<cluster>.<id>.c2.kafka.<region>.amazonaws.com, boot-<id>.c1.kafka-serverless.<region>.amazonaws.com. */
const MSK_HOST = /\.kafka(?:-serverless)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\.?$/i

/** The region in an MSK broker host name, or undefined for any other host. */
export function regionFromMskHost(host: string): string | undefined {
  const region = MSK_HOST.exec(host.trim())?.[1]?.toLowerCase()
  return region !== undefined && REGION.test(region) ? region : undefined
}

export function isAwsRegion(value: string): boolean {
  return REGION.test(value)
}

export interface MskAuthPayload {
  version: string
  host: string
  'user-agent': string
  action: string
  'x-amz-algorithm': string
  'x-amz-credential': string
  'x-amz-date': string
  'x-amz-security-token'?: string
  'x-amz-signedheaders': string
  'x-amz-expires': string
  'x-amz-signature': string
}

export interface MskPayloadInput {
  /** The broker's host name as the client connects to it (no port). */
  host: string
  region: string
  credentials: AwsCredentials
  date: Date
  userAgent: string
}

/** The signed payload and the signature steps behind it (tests check each step). */
export function mskAuthPayload(input: MskPayloadInput): {payload: MskAuthPayload; signature: Signature} {
  const signed = presign({
    method: 'GET',
    host: input.host,
    path: '/',
    query: {Action: MSK_IAM_ACTION},
    // SigV4's hash of the (empty) request body; presigned S3 URLs say UNSIGNED-PAYLOAD, other services do not.
    payloadHash: EMPTY_PAYLOAD_SHA256,
    region: input.region,
    service: MSK_IAM_SERVICE,
    credentials: input.credentials,
    date: input.date,
    expiresSeconds: MSK_IAM_EXPIRES_SECONDS,
  })
  const q = signed.query
  const payload: MskAuthPayload = {
    version: MSK_IAM_PAYLOAD_VERSION,
    host: input.host,
    'user-agent': input.userAgent,
    action: q.Action!,
    'x-amz-algorithm': q['X-Amz-Algorithm']!,
    'x-amz-credential': q['X-Amz-Credential']!,
    'x-amz-date': q['X-Amz-Date']!,
    'x-amz-signedheaders': q['X-Amz-SignedHeaders']!,
    'x-amz-expires': q['X-Amz-Expires']!,
    'x-amz-signature': q['X-Amz-Signature']!,
  }
  if (q['X-Amz-Security-Token'] !== undefined) payload['x-amz-security-token'] = q['X-Amz-Security-Token']
  return {payload, signature: signed}
}

/** The broker's answer on success: {"version": "2020_10_22", "request-id": "…"}; the id is what AWS support asks for. */
function requestId(bytes: Buffer | void): string | undefined {
  try {
    return bytes && bytes.length > 0 ? (JSON.parse(bytes.toString('utf8')) as {'request-id'?: string})['request-id'] : undefined
  } catch {
    return undefined
  }
}

export interface MskIamOptions {
  region: string
  credentials: () => Promise<AwsCredentials>
  userAgent: string
  now?: () => Date
}

export function mskIamMechanism(options: MskIamOptions): CustomMechanism {
  return {
    mechanism: MSK_IAM_MECHANISM,
    authenticationProvider: ({host, port, logger, saslAuthenticate}) => ({
      async authenticate() {
        let credentials: AwsCredentials
        try {
          credentials = await options.credentials()
        } catch (error) {
          if (error instanceof SaslAuthError) throw error
          throw new SaslAuthError('AWS_MSK_IAM', `cannot get AWS credentials: ${(error as Error).message}`)
        }
        const {payload} = mskAuthPayload({
          host,
          region: options.region,
          credentials,
          date: options.now?.() ?? new Date(),
          userAgent: options.userAgent,
        })
        let answer: Buffer | void
        try {
          answer = await saslAuthenticate({request: framedRequest(Buffer.from(JSON.stringify(payload), 'utf8')), response: rawServerBytes})
        } catch (error) {
          // MSK's reasons: an expired or wrong signature, a region mismatch, no kafka-cluster:Connect in the policy.
          throw new SaslAuthError('AWS_MSK_IAM', `the broker refused the signed request: ${brokerMessage(error)}`)
        }
        logger.debug('AWS_MSK_IAM authentication successful', {broker: `${host}:${port}`, requestId: requestId(answer)})
      },
    }),
  }
}
