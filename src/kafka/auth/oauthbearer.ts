import {readFile} from 'node:fs/promises'

import type {OAuthTokenSource} from '../types.js'

import {registerSecret} from '../../core/redact.js'
import {isCommandFailure, runCredentialCommand} from './run-command.js'
import {SaslAuthError} from './sasl-auth-error.js'

/**
 * Tokens for SASL OAUTHBEARER (RFC 7628), from a command, a file or an OAuth 2.0 client-credentials
 * endpoint. kafkajs asks for a token on every new broker connection (and on re-authentication when
 * the broker sets connections.max.reauth.ms), so the provider caches one and fetches the next when
 * 80% of its lifetime has passed — Kafka's own default refresh point (sasl.login.refresh.window.factor)
 * — or 30 s before it expires, whichever comes first.
 * The lifetime comes from the JWT's `exp`, else the endpoint's `expires_in`.
 */

const MECHANISM = 'OAUTHBEARER'
const REFRESH_WINDOW_FACTOR = 0.8
/**
 * A cached token is handed out only while it has this much life left. kafkajs re-authenticates a
 * connection 10 s before its session ends (the session lasts as long as the token), and a broker
 * refuses re-authentication more often than once a second: a token with only seconds left would
 * have every request re-authenticate, and the broker refuse.
 */
const MIN_REMAINING_MS = 30_000
/** A token whose expiry cannot be read (an opaque token) is reused this long, then fetched again. */
const UNKNOWN_EXPIRY_REUSE_MS = 60_000
/** RFC 6750 b64token: what Kafka accepts after "auth=Bearer ". */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

export interface OAuthToken {
  value: string
  /** Epoch ms; undefined when neither the token nor the endpoint says. */
  expiresAt: number | undefined
}

function fail(message: string): never {
  throw new SaslAuthError(MECHANISM, message)
}

/** `exp` of a JWT (JWS compact form) in epoch ms, or undefined for anything else. Never validates the signature: the broker does. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {exp?: unknown}
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined
  } catch {
    return undefined
  }
}

function describeSource(source: OAuthTokenSource): string {
  switch (source.kind) {
    case 'command': {
      return 'the token command'
    }
    case 'file': {
      return `token file ${source.path}`
    }
    case 'client-credentials': {
      return `token endpoint ${source.endpoint}`
    }
  }
}

function checked(value: string, source: OAuthTokenSource, expiresInMs?: number, now: number = Date.now()): OAuthToken {
  const token = value.trim()
  if (token === '') fail(`${describeSource(source)} gave an empty token`)
  // Register before anything can echo it; then refuse what Kafka would refuse, without quoting it.
  registerSecret(token)
  if (!BEARER_TOKEN.test(token))
    fail(`${describeSource(source)} did not give a bearer token (one line of base64url/JWT characters expected)`)
  const expiresAt = jwtExpiry(token) ?? (expiresInMs === undefined ? undefined : now + expiresInMs)
  if (expiresAt !== undefined && expiresAt <= now)
    fail(`the token from ${describeSource(source)} expired at ${new Date(expiresAt).toISOString()}`)
  return {value: token, expiresAt}
}

async function fromCommand(source: Extract<OAuthTokenSource, {kind: 'command'}>, now: number): Promise<OAuthToken> {
  const result = await runCredentialCommand(source.command, source.timeoutMs)
  if (isCommandFailure(result)) fail(`the token command ${result.reason}`)
  return checked(result.stdout, source, undefined, now)
}

async function fromFile(source: Extract<OAuthTokenSource, {kind: 'file'}>, now: number): Promise<OAuthToken> {
  let text: string
  try {
    text = await readFile(source.path, 'utf8')
  } catch (error) {
    fail(`cannot read token file ${source.path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  return checked(text, source, undefined, now)
}

/** RFC 6749 section 2.3.1: client id and secret are form-encoded before they go into Basic auth. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

async function fromEndpoint(source: Extract<OAuthTokenSource, {kind: 'client-credentials'}>, now: number): Promise<OAuthToken> {
  // RFC 6749 section 4.4.2 names; the token response's fields (access_token, expires_in) are read below.
  const body = new URLSearchParams([['grant_type', 'client_credentials']])
  if (source.scope) body.set('scope', source.scope)
  let response: Response
  try {
    response = await fetch(source.endpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuth(source.clientId, source.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body,
      signal: AbortSignal.timeout(source.timeoutMs),
    })
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `did not answer within ${Math.round(source.timeoutMs / 1000)}s`
        : `is not reachable: ${describeFetchError(error)}`
    fail(`token endpoint ${source.endpoint} ${reason}`)
  }
  const text = await response.text()
  let json: {access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown} = {}
  try {
    json = JSON.parse(text) as typeof json
  } catch {
    // Reported below by what is missing.
  }
  if (!response.ok) {
    // RFC 6749 5.2 error codes are safe to show (invalid_client, invalid_scope); descriptions are cut short.
    const code = typeof json.error === 'string' ? `: ${json.error}` : ''
    const description = typeof json.error_description === 'string' ? ` (${json.error_description.slice(0, 200)})` : ''
    fail(`token endpoint ${source.endpoint} answered HTTP ${response.status}${code}${description}`)
  }
  if (typeof json.access_token !== 'string') fail(`token endpoint ${source.endpoint} answered without an access_token`)
  const expiresIn =
    typeof json.expires_in === 'number' ? json.expires_in : typeof json.expires_in === 'string' ? Number(json.expires_in) : Number.NaN
  return checked(json.access_token, source, Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : undefined, now)
}

function describeFetchError(error: unknown): string {
  const cause = (error as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}

export function fetchOAuthToken(source: OAuthTokenSource, now: number = Date.now()): Promise<OAuthToken> {
  switch (source.kind) {
    case 'command': {
      return fromCommand(source, now)
    }
    case 'file': {
      return fromFile(source, now)
    }
    case 'client-credentials': {
      return fromEndpoint(source, now)
    }
  }
}

/**
 * What kafkajs's `oauthBearerProvider` calls: the cached token while it is fresh, else a new one.
 * A token file is read again on every refresh, so a rotated file (a Kubernetes projected token) is
 * picked up; a file whose token has no expiry is read on every call.
 */
export function oauthTokenProvider(source: OAuthTokenSource, options: {now?: () => number} = {}): () => Promise<{value: string}> {
  const now = options.now ?? Date.now
  let cached: {token: OAuthToken; refreshAt: number} | undefined
  let pending: Promise<{value: string}> | undefined
  return async () => {
    if (cached && now() < cached.refreshAt) return {value: cached.token.value}
    pending ??= (async () => {
      try {
        const obtainedAt = now()
        const token = await fetchOAuthToken(source, obtainedAt)
        const refreshAt =
          token.expiresAt !== undefined
            ? Math.min(obtainedAt + (token.expiresAt - obtainedAt) * REFRESH_WINDOW_FACTOR, token.expiresAt - MIN_REMAINING_MS)
            : source.kind === 'file'
              ? obtainedAt
              : obtainedAt + UNKNOWN_EXPIRY_REUSE_MS
        cached = {token, refreshAt}
        return {value: token.value}
      } finally {
        pending = undefined
      }
    })()
    return pending
  }
}
