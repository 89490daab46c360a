import type {AddressInfo} from 'node:net'

import {createHash, createHmac} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {maskSecrets} from '../../src/core/redact.js'
import {awsCredentialProvider, planAwsCredentials} from '../../src/kafka/auth/aws-credentials.js'
import {mskAuthPayload, mskIamMechanism, regionFromMskHost} from '../../src/kafka/auth/msk-iam.js'
import {SaslAuthError} from '../../src/kafka/auth/sasl-auth-error.js'

/**
 * AWS_MSK_IAM without an AWS account: the signed payload is checked against a canonical request and
 * string to sign written out by hand below from the aws-msk-iam-auth format (AWS4SignedPayloadGenerator:
 * a presigned `GET https://<host>/?Action=kafka-cluster:Connect`, service kafka-cluster, 900 s,
 * signed header host, payload hash of the empty body), signed here with node:crypto directly, and
 * against the signature an independent implementation gives for the same request: botocore 1.43.11's
 * SigV4QueryAuth (the signer AWS's own aws-msk-iam-sasl-signer-python uses), run once offline.
 * Nothing here talks to MSK.
 */

const HOST = 'b-1.kreorg-test.abc123.c2.kafka.eu-west-1.amazonaws.com'
const ACCESS_KEY = 'AKIDEXAMPLE'
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE+session/token='
const AT = new Date('2020-10-22T12:00:00Z')

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

describe('MSK IAM payload at a fixed time', () => {
  it('derives, step by step, the canonical request, string to sign and signature of the aws-msk-iam-auth format', () => {
    const {payload, signature} = mskAuthPayload({
      host: HOST,
      region: 'eu-west-1',
      credentials: {accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN},
      date: AT,
      userAgent: 'kreorg-test',
    })

    // 1. Canonical request: GET, path "/", the query sorted by name with every value URI-encoded
    //    (":" → %3A, "/" → %2F, "+" → %2B, "=" → %3D), the one signed header, the empty-body hash.
    const query = [
      'Action=kafka-cluster%3AConnect',
      'X-Amz-Algorithm=AWS4-HMAC-SHA256',
      'X-Amz-Credential=AKIDEXAMPLE%2F20201022%2Feu-west-1%2Fkafka-cluster%2Faws4_request',
      'X-Amz-Date=20201022T120000Z',
      'X-Amz-Expires=900',
      'X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2Bsession%2Ftoken%3D',
      'X-Amz-SignedHeaders=host',
    ].join('&')
    const canonicalRequest = ['GET', '/', query, `host:${HOST}`, '', 'host', createHash('sha256').update('').digest('hex')].join('\n')
    expect(signature.canonicalRequest).toBe(canonicalRequest)

    // 2. String to sign: algorithm, timestamp, scope, hash of the canonical request.
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      '20201022T120000Z',
      '20201022/eu-west-1/kafka-cluster/aws4_request',
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n')
    expect(signature.stringToSign).toBe(stringToSign)
    // …whose last line is what botocore's SigV4QueryAuth logs for the same request.
    expect(stringToSign.split('\n')[3]).toBe('1a8c1d45ac00cb2876dc47b0a12fb3a5045120e3bbd06404e3689fe15005dc73')

    // 3. Signing key: HMAC chain over date, region, service, "aws4_request"; then the signature.
    const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, '20201022'), 'eu-west-1'), 'kafka-cluster'), 'aws4_request')
    const expected = hmac(key, stringToSign).toString('hex')
    expect(expected).toBe('065eb095b521be3f27d813cab1f2c9d984086f7838fc8ac329703ec39c15f589')

    // 4. The payload: the presigned query parameters with lower-cased names (raw values), plus version, host, user-agent.
    expect(payload).toEqual({
      version: '2020_10_22',
      host: HOST,
      'user-agent': 'kreorg-test',
      action: 'kafka-cluster:Connect',
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': 'AKIDEXAMPLE/20201022/eu-west-1/kafka-cluster/aws4_request',
      'x-amz-date': '20201022T120000Z',
      'x-amz-security-token': SESSION_TOKEN,
      'x-amz-signedheaders': 'host',
      'x-amz-expires': '900',
      'x-amz-signature': expected,
    })
  })

  it('leaves the security token out of query and payload for long-term keys (botocore agrees on the signature)', () => {
    const {payload, signature} = mskAuthPayload({
      host: HOST,
      region: 'eu-west-1',
      credentials: {accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY},
      date: AT,
      userAgent: 'x',
    })
    expect(signature.canonicalRequest).not.toContain('Security-Token')
    expect(payload).not.toHaveProperty('x-amz-security-token')
    expect(signature.stringToSign.split('\n')[3]).toBe('4d4e09eda9ecd21f0f08a42615637c4af53ba4d40fc5d18b6c121ef5559e1706')
    expect(payload['x-amz-signature']).toBe('efbff54254b77bd4b54e3e43db476ec40840991999fd93a30d2e1f273efaccd9')
  })
})

describe('region from MSK host names', () => {
  it.each([
    ['b-1.mycluster.abc123.c2.kafka.us-east-1.amazonaws.com', 'us-east-1'],
    ['b-3.prod.x1y2z3.c10.kafka.eu-central-2.amazonaws.com', 'eu-central-2'],
    ['boot-abcd1234.c1.kafka-serverless.ap-southeast-2.amazonaws.com', 'ap-southeast-2'],
    ['b-1.gov.abc.c1.kafka.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['b-1.cn.abc.c1.kafka.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['kafka-1.internal.example.com', undefined],
    ['127.0.0.1', undefined],
    ['b-1.x.kafka.notaregion.amazonaws.com', undefined],
  ])('%s → %s', (host, region) => {
    expect(regionFromMskHost(host)).toBe(region)
  })
})

describe('the AWS_MSK_IAM kafkajs mechanism', () => {
  it('sends the payload as one length-prefixed JSON message, signed for the connecting host', async () => {
    const sent: Buffer[] = []
    const mechanism = mskIamMechanism({
      region: 'eu-west-1',
      credentials: async () => ({accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY}),
      userAgent: 'kreorg-test',
      now: () => AT,
    })
    expect(mechanism.mechanism).toBe('AWS_MSK_IAM')
    let answer: unknown
    await mechanism
      .authenticationProvider({
        host: HOST,
        port: 9098,
        logger: {debug() {}},
        async saslAuthenticate({request, response}) {
          sent.push(await request.encode())
          // The broker's answer, framed the way kafkajs hands it over.
          const body = Buffer.from('{"version":"2020_10_22","request-id":"r-42"}')
          const framed = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body])
          answer = response!.parse(await response!.decode(framed))
          return answer as never
        },
      })
      .authenticate()
    const [bytes] = sent
    expect(bytes!.readInt32BE(0)).toBe(bytes!.length - 4)
    const json = JSON.parse(bytes!.subarray(4).toString('utf8')) as Record<string, string>
    expect(json.host).toBe(HOST)
    expect(json['x-amz-signature']).toBe('efbff54254b77bd4b54e3e43db476ec40840991999fd93a30d2e1f273efaccd9')
    expect(JSON.parse((answer as Buffer).toString())).toEqual({version: '2020_10_22', 'request-id': 'r-42'})
  })

  it('turns the broker refusing the signature into a SaslAuthError naming AWS_MSK_IAM', async () => {
    const mechanism = mskIamMechanism({
      region: 'eu-west-1',
      credentials: async () => ({accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY}),
      userAgent: 'x',
    })
    const error = await mechanism
      .authenticationProvider({
        host: HOST,
        port: 9098,
        logger: {debug() {}},
        async saslAuthenticate() {
          throw new Error('[SaslAuthenticate] Access denied')
        },
      })
      .authenticate()
      .catch((error_: unknown) => error_)
    expect(error).toBeInstanceOf(SaslAuthError)
    expect((error as Error).message).toBe('the broker refused the signed request: [SaslAuthenticate] Access denied')
  })

  it('fails with a SaslAuthError naming AWS_MSK_IAM when there are no credentials', async () => {
    const mechanism = mskIamMechanism({
      region: 'eu-west-1',
      credentials: awsCredentialProvider({env: {HOME: emptyHome(), AWS_EC2_METADATA_DISABLED: 'true'}}),
      userAgent: 'x',
    })
    const error = await mechanism
      .authenticationProvider({host: HOST, port: 9098, logger: {debug() {}}, async saslAuthenticate() {}})
      .authenticate()
      .catch((error_: unknown) => error_)
    expect(error).toBeInstanceOf(SaslAuthError)
    expect((error as SaslAuthError).mechanism).toBe('AWS_MSK_IAM')
    expect((error as Error).message).toMatch(/no AWS credentials found/)
  })
})

function emptyHome(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'kreorg-aws-home-'))
}

function homeWith(files: {credentials?: string; config?: string}): string {
  const home = emptyHome()
  const aws = path.join(home, '.aws')
  mkdirSync(aws)
  if (files.credentials) writeFileSync(path.join(aws, 'credentials'), files.credentials)
  if (files.config) writeFileSync(path.join(aws, 'config'), files.config)
  return home
}

describe('the AWS credential chain', () => {
  let server: http.Server
  let base: string
  const requests: Array<{method: string; url: string; headers: http.IncomingHttpHeaders}> = []
  const expiration = new Date(Date.now() + 3_600_000).toISOString()

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push({method: req.method!, url: req.url!, headers: req.headers})
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-session-token')
      if (req.url === '/latest/meta-data/iam/security-credentials/') {
        if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-session-token') return res.writeHead(401).end()
        return res.end('kreorg-role\n')
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/kreorg-role') {
        return res.end(
          JSON.stringify({
            Code: 'Success',
            AccessKeyId: 'ASIAIMDS',
            SecretAccessKey: 'imds-secret-key',
            Token: 'imds-token',
            Expiration: expiration,
          }),
        )
      }
      if (req.url === '/ecs/creds') {
        if (req.headers.authorization !== 'Bearer pod-identity') return res.writeHead(403).end()
        return res.end(
          JSON.stringify({AccessKeyId: 'ASIAECS', SecretAccessKey: 'ecs-secret-key', Token: 'ecs-token', Expiration: expiration}),
        )
      }
      if (req.method === 'POST' && req.url === '/sts') {
        return res.end(
          `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>sts-secret-key</SecretAccessKey><SessionToken>sts-token</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
        )
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('takes AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN first, and registers the secrets for masking', async () => {
    const env = {
      HOME: emptyHome(),
      AWS_ACCESS_KEY_ID: 'AKIAENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret-key-1',
      AWS_SESSION_TOKEN: 'env-session-token-1',
    }
    expect(planAwsCredentials(env).description).toBe('env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
    expect(await awsCredentialProvider({env})()).toEqual({
      accessKeyId: 'AKIAENV',
      secretAccessKey: 'env-secret-key-1',
      sessionToken: 'env-session-token-1',
    })
    expect(maskSecrets('x env-secret-key-1 env-session-token-1')).toBe('x ******** ********')
  })

  it('reads a named profile from ~/.aws/credentials (over ~/.aws/config) and ignores env keys when a profile is named', async () => {
    const home = homeWith({
      credentials: '[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\n',
      config: '[profile ops]\nregion = eu-west-1\naws_access_key_id = AKIACONFIG\n',
    })
    const env = {HOME: home, AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret'}
    expect(await awsCredentialProvider({env, profile: 'ops'})()).toEqual({accessKeyId: 'AKIAOPS', secretAccessKey: 'ops-secret'})
    expect(await awsCredentialProvider({env: {...env, AWS_PROFILE: 'ops'}})()).toMatchObject({accessKeyId: 'AKIAOPS'})
    expect(() => planAwsCredentials(env, 'nope')).toThrow(/AWS profile "nope" is not in/)
  })

  it('runs credential_process and caches its credentials until five minutes before they expire', async () => {
    const home = emptyHome()
    const counter = path.join(home, 'runs')
    const script = `echo run >> ${JSON.stringify(counter)}; printf '{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"proc-secret","SessionToken":"proc-token","Expiration":"%s"}' "$EXP"`
    const homeDir = homeWith({config: `[default]\ncredential_process = sh -c ${JSON.stringify(script)}\n`})
    let now = Date.now()
    const exp = new Date(now + 20 * 60_000).toISOString()
    process.env.EXP = exp
    try {
      const provider = awsCredentialProvider({env: {HOME: homeDir}, now: () => now})
      expect(await provider()).toEqual({
        accessKeyId: 'ASIAPROC',
        secretAccessKey: 'proc-secret',
        sessionToken: 'proc-token',
        expiration: new Date(exp),
      })
      await provider()
      expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1)
      now += 16 * 60_000
      await provider()
      expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2)
    } finally {
      delete process.env.EXP
    }
  })

  it('explains role_arn/SSO profiles instead of half-supporting them', () => {
    const home = homeWith({config: '[profile sso]\nsso_session = corp\nsso_account_id = 1\n'})
    expect(() => planAwsCredentials({HOME: home}, 'sso')).toThrow(
      /sso_session, which kreorg does not implement.*credential_process = aws configure export-credentials --profile sso/,
    )
  })

  it('uses web identity (EKS IRSA) through STS AssumeRoleWithWebIdentity', async () => {
    const home = emptyHome()
    const tokenFile = path.join(home, 'token')
    writeFileSync(tokenFile, 'eyJ.web.identity\n')
    const env = {
      HOME: home,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: 'arn:aws:iam::1:role/kreorg',
      AWS_ENDPOINT_URL_STS: `${base}/sts`,
    }
    expect(await awsCredentialProvider({env})()).toMatchObject({
      accessKeyId: 'ASIASTS',
      secretAccessKey: 'sts-secret-key',
      sessionToken: 'sts-token',
    })
  })

  it('uses the container endpoint with its authorization token', async () => {
    const env = {
      HOME: emptyHome(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/ecs/creds`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer pod-identity',
    }
    expect(await awsCredentialProvider({env})()).toMatchObject({accessKeyId: 'ASIAECS', sessionToken: 'ecs-token'})
  })

  it('falls back to IMDSv2: session token first, then the role, then its credentials', async () => {
    requests.length = 0
    const env = {HOME: emptyHome(), AWS_EC2_METADATA_SERVICE_ENDPOINT: base}
    expect(planAwsCredentials(env).kind).toBe('imds')
    expect(await awsCredentialProvider({env})()).toMatchObject({
      accessKeyId: 'ASIAIMDS',
      secretAccessKey: 'imds-secret-key',
      sessionToken: 'imds-token',
    })
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/kreorg-role',
    ])
  })

  it('says so when nothing provides credentials', () => {
    expect(() => planAwsCredentials({HOME: emptyHome(), AWS_EC2_METADATA_DISABLED: 'true'})).toThrow(SaslAuthError)
    expect(() => planAwsCredentials({HOME: emptyHome(), AWS_ACCESS_KEY_ID: 'AKIA'})).toThrow(
      /AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY/,
    )
  })
})
