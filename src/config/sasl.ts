import type {OAuthTokenSource, SaslOptions} from '../kafka/types.js'
import type {Env} from './load.js'
import type {MechanismChoice, SaslPicks, SecretRef} from './sasl-picks.js'

import {parseDuration} from '../core/duration.js'
import {describeCause} from '../core/errors.js'
import {MASK, registerSecret} from '../core/redact.js'
import {planAwsCredentials} from '../kafka/auth/aws-credentials.js'
import {isAwsRegion, regionFromMskHost} from '../kafka/auth/msk-iam.js'
import {SaslAuthError} from '../kafka/auth/sasl-auth-error.js'
import {describeOrigin, type EffectiveSetting, type Picked, readSettingFile, usage, whereSet} from './origin.js'

/**
 * Turns the picked SASL settings into `SaslOptions` for the chosen mechanism: reads secrets (from
 * env vars and files only), registers them for masking, and records what `config show` displays.
 */

export interface SaslContext {
  env: Env
  /** "host:port" strings; empty only for `config show`. */
  brokers: readonly string[]
  connectTimeoutMs: number
  tlsEnabled: boolean
  show: (key: string, picked: Picked<unknown> | undefined, display?: string | number | boolean | null) => void
  add: (setting: EffectiveSetting) => void
  warnings: string[]
}

function readSecret(picked: Picked<SecretRef>, env: Env, what: string): {value: string; shown: string} {
  if (picked.value.from === 'env') {
    const value = env[picked.value.ref]
    if (value === undefined || value === '') {
      throw usage(`environment variable ${picked.value.ref} (named by ${whereSet(picked.origin)}) is not set or empty`)
    }
    registerSecret(value)
    return {value, shown: `${MASK} (env ${picked.value.ref})`}
  }
  const file = readSettingFile({value: picked.value.ref, origin: picked.origin}, env, `${what} file`)
  // Files written with `echo` end in a newline that is not part of the secret.
  const value = file.contents.replace(/\r?\n+$/, '')
  if (value === '') throw usage(`${what} file ${file.path} (from ${whereSet(picked.origin)}) is empty`)
  registerSecret(value)
  return {value, shown: `${MASK} (file ${file.path})`}
}

function passwordSasl(choice: MechanismChoice, picks: SaslPicks, ctx: SaslContext): SaslOptions {
  const mechanism = choice.mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512'
  if (!picks.username) {
    throw usage(`SASL mechanism ${mechanism.toUpperCase()} is set (${whereSet(choice.pick.origin)}) but no username`, [
      'pass --sasl-username, set KAFKA_SASL_USERNAME, or sasl.username in the profile',
    ])
  }
  if (!picks.password) {
    throw usage(`no password for SASL user "${picks.username.value}" (${mechanism.toUpperCase()})`, [
      'set KAFKA_SASL_PASSWORD, pass --sasl-password-env NAME or --sasl-password-file PATH, or sasl.passwordEnv/passwordFile in the profile',
    ])
  }
  const password = readSecret(picks.password, ctx.env, 'SASL password')
  ctx.show('sasl.username', picks.username)
  ctx.show('sasl.password', picks.password, password.shown)
  if (mechanism === 'plain' && !ctx.tlsEnabled) ctx.warnings.push('SASL PLAIN without TLS sends the password in clear text')
  return {mechanism, username: picks.username.value, password: password.value}
}

function durationMs(picked: Picked<string | number>): number {
  try {
    return typeof picked.value === 'number' ? picked.value * 1000 : parseDuration(picked.value)
  } catch (error) {
    throw usage(`${whereSet(picked.origin)}: ${describeCause(error)}`)
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname)
}

function oauthSasl(choice: MechanismChoice, picks: SaslPicks, ctx: SaslContext): SaslOptions {
  const token = picks.token
  if (!token) {
    throw usage(`SASL mechanism OAUTHBEARER is set (${whereSet(choice.pick.origin)}) but no token source`, [
      'pass --oauth-token-command CMD, --oauth-token-file PATH or --oauth-token-endpoint URL (or KAFKA_OAUTH_TOKEN_COMMAND/_FILE/_ENDPOINT), or sasl.oauth.tokenCommand/tokenFile/tokenEndpoint in the profile',
    ])
  }
  // The first token is fetched inside the connect deadline: stop just before it, so the failure names the token source.
  const timeoutMs = picks.tokenTimeout ? durationMs(picks.tokenTimeout) : Math.max(1000, ctx.connectTimeoutMs - 1000)
  let source: OAuthTokenSource
  if (token.value.kind === 'command') {
    source = {kind: 'command', command: token.value.value, timeoutMs}
    ctx.show('sasl.oauth.tokenCommand', token, token.value.value)
  } else if (token.value.kind === 'file') {
    // Read now so a missing file fails before connecting; the provider reads it again on every refresh.
    const file = readSettingFile({value: token.value.value, origin: token.origin}, ctx.env, 'OAUTHBEARER token file')
    registerSecret(file.contents.trim())
    source = {kind: 'file', path: file.path}
    ctx.show('sasl.oauth.tokenFile', token, file.path)
  } else {
    source = endpointSource(token as Picked<{kind: 'endpoint'; value: string}>, picks, ctx, timeoutMs)
  }
  if (picks.tokenTimeout) ctx.show('sasl.oauth.timeout', picks.tokenTimeout, `${timeoutMs}ms`)
  if (!ctx.tlsEnabled) ctx.warnings.push('SASL OAUTHBEARER without TLS sends the token in clear text')
  return {mechanism: 'oauthbearer', token: source}
}

function endpointSource(
  token: Picked<{kind: 'endpoint'; value: string}>,
  picks: SaslPicks,
  ctx: SaslContext,
  timeoutMs: number,
): OAuthTokenSource {
  let url: URL
  try {
    url = new URL(token.value.value)
  } catch {
    throw usage(`${whereSet(token.origin)}: "${token.value.value}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw usage(`${whereSet(token.origin)}: expected an https:// URL, got ${url.protocol}`)
  if (url.username || url.password)
    throw usage(
      `${whereSet(token.origin)}: credentials do not belong in the URL; use --oauth-client-id and --oauth-client-secret-env/-file`,
    )
  if (!picks.clientId) {
    throw usage(`the OAUTHBEARER token endpoint (${whereSet(token.origin)}) needs a client id`, [
      'pass --oauth-client-id, set KAFKA_OAUTH_CLIENT_ID, or sasl.oauth.clientId in the profile',
    ])
  }
  if (!picks.clientSecret) {
    throw usage(`no client secret for OAuth client "${picks.clientId.value}" (OAUTHBEARER)`, [
      'set KAFKA_OAUTH_CLIENT_SECRET, pass --oauth-client-secret-env NAME or --oauth-client-secret-file PATH, or sasl.oauth.clientSecretEnv/clientSecretFile in the profile',
    ])
  }
  const secret = readSecret(picks.clientSecret, ctx.env, 'OAuth client secret')
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    ctx.warnings.push(`the token endpoint ${url.origin} is plain http: the client secret crosses the network in clear text`)
  ctx.show('sasl.oauth.tokenEndpoint', token, url.href)
  ctx.show('sasl.oauth.clientId', picks.clientId)
  ctx.show('sasl.oauth.clientSecret', picks.clientSecret, secret.shown)
  ctx.show('sasl.oauth.scope', picks.scope)
  const source: OAuthTokenSource = {
    kind: 'client-credentials',
    endpoint: url.href,
    clientId: picks.clientId.value,
    clientSecret: secret.value,
    timeoutMs,
  }
  if (picks.scope) source.scope = picks.scope.value
  return source
}

function brokerHost(broker: string): string {
  const colon = broker.lastIndexOf(':')
  return (colon > 0 ? broker.slice(0, colon) : broker).replaceAll(/^\[|\]$/g, '')
}

/** Region: --aws-region or the profile, else the MSK broker host names, else AWS_REGION/AWS_DEFAULT_REGION. */
function awsRegion(picks: SaslPicks, ctx: SaslContext): string {
  if (picks.awsRegion) {
    if (!isAwsRegion(picks.awsRegion.value))
      throw usage(`${whereSet(picks.awsRegion.origin)}: "${picks.awsRegion.value}" is not an AWS region (such as us-east-1)`)
    ctx.show('sasl.aws.region', picks.awsRegion)
    return picks.awsRegion.value
  }
  for (const broker of ctx.brokers) {
    const region = regionFromMskHost(brokerHost(broker))
    if (region) {
      ctx.add({key: 'sasl.aws.region', value: region, source: `broker host ${brokerHost(broker)}`})
      return region
    }
  }
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const value = ctx.env[name]?.trim()
    if (value) {
      if (!isAwsRegion(value)) throw usage(`${name}: "${value}" is not an AWS region (such as us-east-1)`)
      ctx.show('sasl.aws.region', {value, origin: {kind: 'env', name}})
      return value
    }
  }
  if (ctx.brokers.length === 0) {
    ctx.warnings.push('no AWS region for AWS_MSK_IAM yet: it comes from MSK broker host names, --aws-region or AWS_REGION')
    ctx.show('sasl.aws.region', undefined)
    return ''
  }
  throw usage(
    `cannot tell the AWS region for AWS_MSK_IAM: ${ctx.brokers.map((broker) => brokerHost(broker)).join(', ')} ${ctx.brokers.length > 1 ? 'are not MSK host names' : 'is not an MSK host name'}`,
    ['pass --aws-region, set sasl.aws.region in the profile, or AWS_REGION'],
  )
}

function mskIamSasl(choice: MechanismChoice, picks: SaslPicks, ctx: SaslContext): SaslOptions {
  const region = awsRegion(picks, ctx)
  const envProfile = ctx.env.AWS_PROFILE?.trim()
  const profilePick =
    picks.awsProfile ?? (envProfile ? {value: envProfile, origin: {kind: 'env' as const, name: 'AWS_PROFILE'}} : undefined)
  ctx.show('sasl.aws.profile', profilePick)
  try {
    // Decided now without network or commands: a named AWS profile that does not exist fails before connecting.
    const plan = planAwsCredentials(ctx.env, picks.awsProfile?.value)
    if (plan.kind === 'static') {
      registerSecret(plan.credentials.secretAccessKey)
      registerSecret(plan.credentials.sessionToken)
    }
    ctx.add({key: 'sasl.aws.credentials', value: plan.description, source: 'AWS credential chain'})
  } catch (error) {
    if (error instanceof SaslAuthError) throw usage(`AWS_MSK_IAM (${whereSet(choice.pick.origin)}): ${error.message}`)
    throw error
  }
  if (!ctx.tlsEnabled) ctx.warnings.push('MSK accepts AWS_MSK_IAM on its TLS listeners only (port 9098, 9198 for public access)')
  const options: SaslOptions = {mechanism: 'aws-msk-iam', region}
  if (picks.awsProfile) options.awsProfile = picks.awsProfile.value
  return options
}

export function resolveSasl(choice: MechanismChoice, picks: SaslPicks, ctx: SaslContext): SaslOptions {
  if (choice.implied) ctx.add({key: 'sasl.mechanism', value: choice.mechanism, source: `implied by ${describeOrigin(choice.pick.origin)}`})
  else ctx.show('sasl.mechanism', choice.pick, choice.mechanism)
  switch (choice.mechanism) {
    case 'oauthbearer': {
      return oauthSasl(choice, picks, ctx)
    }
    case 'aws-msk-iam': {
      return mskIamSasl(choice, picks, ctx)
    }
    default: {
      return passwordSasl(choice, picks, ctx)
    }
  }
}
