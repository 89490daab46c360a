import {readFileSync} from 'node:fs'

import type {AwsCredentials} from './sigv4.js'

import {registerSecret} from '../../core/redact.js'
import {type AwsEnv, readAwsProfile} from './aws-shared-config.js'
import {isCommandFailure, runCredentialCommand} from './run-command.js'
import {SaslAuthError} from './sasl-auth-error.js'

/**
 * The usual AWS credential chain, without the AWS SDK (see docs/security.md for why and what is left
 * out). In order:
 * 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) — skipped when a profile is named;
 * 2. the profile (named, else `default`) in ~/.aws/credentials and ~/.aws/config: static keys or `credential_process`;
 * 3. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, as EKS IRSA sets them);
 * 4. the ECS/EKS container endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`);
 * 5. EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
 * A named profile (flag, kreorg profile or AWS_PROFILE) is the only source tried: naming one and
 * silently getting other credentials would be a surprise.
 */

const MECHANISM = 'AWS_MSK_IAM'
const PROCESS_TIMEOUT_MS = 30_000
const HTTP_TIMEOUT_MS = 2000
/** Refresh temporary credentials this long before they expire (the SDKs use 5 minutes too). */
const EXPIRY_MARGIN_MS = 5 * 60_000
const UNSUPPORTED_PROFILE_KEYS = ['role_arn', 'sso_session', 'sso_start_url', 'web_identity_token_file']

export type CredentialPlan =
  | {kind: 'static'; description: string; credentials: AwsCredentials}
  | {kind: 'process'; description: string; command: string}
  | {kind: 'web-identity'; description: string; tokenFile: string; roleArn: string; sessionName: string}
  | {kind: 'container'; description: string; url: string}
  | {kind: 'imds'; description: string; endpoint: string}

function fail(message: string): never {
  throw new SaslAuthError(MECHANISM, message)
}

function fromProfile(name: string, env: AwsEnv, explicit: boolean): CredentialPlan | undefined {
  const profile = readAwsProfile(name, env)
  if (!profile) {
    if (explicit)
      fail(
        `AWS profile "${name}" is not in ${[env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials', env.AWS_CONFIG_FILE ?? '~/.aws/config'].join(' or ')}`,
      )
    return undefined
  }
  const where = `AWS profile ${name} (${profile.files.join(', ')})`
  const {values} = profile
  if (values.aws_access_key_id && values.aws_secret_access_key) {
    const credentials: AwsCredentials = {accessKeyId: values.aws_access_key_id, secretAccessKey: values.aws_secret_access_key}
    if (values.aws_session_token) credentials.sessionToken = values.aws_session_token
    return {kind: 'static', description: where, credentials}
  }
  if (values.credential_process) return {kind: 'process', description: `${where}, credential_process`, command: values.credential_process}
  const unsupported = UNSUPPORTED_PROFILE_KEYS.filter((key) => values[key] !== undefined)
  if (unsupported.length > 0) {
    fail(
      `${where} uses ${unsupported.join(', ')}, which kreorg does not implement: add ` +
        `"credential_process = aws configure export-credentials --profile ${name} --format process" to a profile and use that`,
    )
  }
  if (explicit) fail(`${where} has neither aws_access_key_id/aws_secret_access_key nor credential_process`)
  return undefined
}

/**
 * Which source the chain will use, decided without running anything or touching the network (so
 * `config show` can say it, and a named profile that does not exist fails before connecting).
 */
export function planAwsCredentials(env: AwsEnv, profile?: string): CredentialPlan {
  const named = profile ?? (env.AWS_PROFILE?.trim() || undefined)
  if (named) return fromProfile(named, env, true)!
  return fromEnvKeys(env) ?? fromProfile('default', env, false) ?? fromRemote(env)
}

function fromEnvKeys(env: AwsEnv): CredentialPlan | undefined {
  const keyId = env.AWS_ACCESS_KEY_ID?.trim()
  const secret = env.AWS_SECRET_ACCESS_KEY?.trim()
  if (keyId && secret) {
    const credentials: AwsCredentials = {accessKeyId: keyId, secretAccessKey: secret}
    if (env.AWS_SESSION_TOKEN?.trim()) credentials.sessionToken = env.AWS_SESSION_TOKEN.trim()
    return {kind: 'static', description: 'env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY', credentials}
  }
  if (keyId || secret)
    fail(`${keyId ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is set without ${keyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'}`)
  return undefined
}

/** The sources that need a network round trip (or a token file): web identity, the container endpoint, IMDS. */
function fromRemote(env: AwsEnv): CredentialPlan {
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE?.trim() && env.AWS_ROLE_ARN?.trim()) {
    return {
      kind: 'web-identity',
      description: 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)',
      tokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE.trim(),
      roleArn: env.AWS_ROLE_ARN.trim(),
      sessionName: env.AWS_ROLE_SESSION_NAME?.trim() || `kreorg-${Date.now()}`,
    }
  }
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI?.trim()) {
    return {
      kind: 'container',
      description: 'container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)',
      url: `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.trim()}`,
    }
  }
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI?.trim()) {
    return {
      kind: 'container',
      description: 'container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)',
      url: env.AWS_CONTAINER_CREDENTIALS_FULL_URI.trim(),
    }
  }
  if (env.AWS_EC2_METADATA_DISABLED?.trim().toLowerCase() === 'true') {
    fail(
      'no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile (instance metadata is disabled)',
    )
  }
  const endpoint = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim() || 'http://169.254.169.254').replace(/\/+$/, '')
  return {kind: 'imds', description: 'EC2 instance metadata (IMDSv2), the last resort of the chain', endpoint}
}

interface AwsCredentialDocument {
  AccessKeyId?: unknown
  SecretAccessKey?: unknown
  SessionToken?: unknown
  Token?: unknown
  Expiration?: unknown
}

function fromDocument(document: AwsCredentialDocument, source: string): AwsCredentials {
  if (typeof document.AccessKeyId !== 'string' || typeof document.SecretAccessKey !== 'string') {
    fail(`${source} returned no AccessKeyId/SecretAccessKey`)
  }
  const credentials: AwsCredentials = {accessKeyId: document.AccessKeyId, secretAccessKey: document.SecretAccessKey}
  const token = document.SessionToken ?? document.Token
  if (typeof token === 'string' && token !== '') credentials.sessionToken = token
  if (typeof document.Expiration === 'string') {
    const expiration = new Date(document.Expiration)
    if (!Number.isNaN(expiration.getTime())) credentials.expiration = expiration
  }
  return credentials
}

async function httpText(url: string, init: RequestInit, source: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(url, {...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS)})
  } catch (error) {
    fail(`${source} is not reachable (${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message})`)
  }
  if (!response.ok) fail(`${source} answered HTTP ${response.status}`)
  return response.text()
}

function parseJson(text: string, source: string): AwsCredentialDocument {
  try {
    return JSON.parse(text) as AwsCredentialDocument
  } catch {
    fail(`${source} did not return JSON`)
  }
}

function xmlValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]
}

async function fetchProcess(plan: Extract<CredentialPlan, {kind: 'process'}>): Promise<AwsCredentials> {
  const result = await runCredentialCommand(plan.command, PROCESS_TIMEOUT_MS)
  if (isCommandFailure(result)) fail(`credential_process of ${plan.description} ${result.reason}`)
  const document = parseJson(result.stdout, `credential_process of ${plan.description}`)
  return fromDocument(document, `credential_process of ${plan.description}`)
}

async function fetchWebIdentity(plan: Extract<CredentialPlan, {kind: 'web-identity'}>, env: AwsEnv): Promise<AwsCredentials> {
  let token: string
  try {
    token = readFileSync(plan.tokenFile, 'utf8').trim()
  } catch (error) {
    fail(`cannot read AWS_WEB_IDENTITY_TOKEN_FILE ${plan.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  registerSecret(token)
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim()
  const endpoint = env.AWS_ENDPOINT_URL_STS?.trim() || (region ? `https://sts.${region}.amazonaws.com` : 'https://sts.amazonaws.com')
  const body = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: plan.roleArn,
    RoleSessionName: plan.sessionName,
    WebIdentityToken: token,
  })
  const xml = await httpText(
    endpoint,
    {method: 'POST', body, headers: {'content-type': 'application/x-www-form-urlencoded'}},
    'STS AssumeRoleWithWebIdentity',
  )
  return fromDocument(
    {
      AccessKeyId: xmlValue(xml, 'AccessKeyId'),
      SecretAccessKey: xmlValue(xml, 'SecretAccessKey'),
      SessionToken: xmlValue(xml, 'SessionToken'),
      Expiration: xmlValue(xml, 'Expiration'),
    },
    'STS AssumeRoleWithWebIdentity',
  )
}

async function fetchContainer(plan: Extract<CredentialPlan, {kind: 'container'}>, env: AwsEnv): Promise<AwsCredentials> {
  const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE?.trim()
  const authorization = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : env.AWS_CONTAINER_AUTHORIZATION_TOKEN?.trim()
  const headers: Record<string, string> = authorization ? {authorization} : {}
  return fromDocument(parseJson(await httpText(plan.url, {headers}, plan.description), plan.description), plan.description)
}

async function fetchImds(plan: Extract<CredentialPlan, {kind: 'imds'}>): Promise<AwsCredentials> {
  const source = 'EC2 instance metadata'
  const token = await httpText(
    `${plan.endpoint}/latest/api/token`,
    {method: 'PUT', headers: {'x-aws-ec2-metadata-token-ttl-seconds': '21600'}},
    source,
  )
  const headers = {'x-aws-ec2-metadata-token': token}
  const base = `${plan.endpoint}/latest/meta-data/iam/security-credentials/`
  const role = (await httpText(base, {headers}, source)).split('\n')[0]?.trim()
  if (!role) fail(`${source} has no IAM role attached to this instance`)
  return fromDocument(parseJson(await httpText(`${base}${encodeURIComponent(role)}`, {headers}, source), source), source)
}

async function fetchPlan(plan: CredentialPlan, env: AwsEnv): Promise<AwsCredentials> {
  switch (plan.kind) {
    case 'static': {
      return plan.credentials
    }
    case 'process': {
      return fetchProcess(plan)
    }
    case 'web-identity': {
      return fetchWebIdentity(plan, env)
    }
    case 'container': {
      return fetchContainer(plan, env)
    }
    case 'imds': {
      return fetchImds(plan)
    }
  }
}

/**
 * A credential provider for the life of the process: the first call walks the chain, later calls
 * reuse the credentials until five minutes before they expire. Concurrent callers share one lookup.
 */
export function awsCredentialProvider(options: {env: AwsEnv; profile?: string; now?: () => number}): () => Promise<AwsCredentials> {
  const now = options.now ?? Date.now
  let cached: AwsCredentials | undefined
  let pending: Promise<AwsCredentials> | undefined
  const fresh = (credentials: AwsCredentials | undefined): credentials is AwsCredentials =>
    credentials !== undefined && (credentials.expiration === undefined || credentials.expiration.getTime() - EXPIRY_MARGIN_MS > now())
  return async () => {
    if (fresh(cached)) return cached
    pending ??= (async () => {
      try {
        const credentials = await fetchPlan(planAwsCredentials(options.env, options.profile), options.env)
        registerSecret(credentials.secretAccessKey)
        registerSecret(credentials.sessionToken)
        cached = credentials
        return credentials
      } finally {
        pending = undefined
      }
    })()
    return pending
  }
}
