import {KreorgError} from '../core/errors.js'
import {registerSecret} from '../core/redact.js'

/**
 * Kafka Connect REST URLs. A URL names a worker (`http://connect-1:8083`, or behind a proxy
 * `https://gw/connect`); basic-auth credentials ride in its userinfo. The URL without userinfo is what
 * checkpoints, output and `--json` show; the credentials are secrets, like passwords: they are accepted
 * only from the environment (`KREORG_CONNECT_URLS`), never from a flag value (shell history, `ps`) or
 * the config file, and they are read again on every start and resume, never stored.
 */

/** Comma- or whitespace-separated URLs, possibly with `user:password@`: the only place credentials may come from. */
export const CONNECT_URLS_ENV = 'KREORG_CONNECT_URLS'

export interface ConnectEndpoint {
  /** `scheme://host[:port][/path]` without userinfo or trailing slash: safe to print and store. */
  url: string
  username?: string
  password?: string
}

/** Splits a list setting: commas or whitespace. */
export function splitConnectUrls(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

export interface ParseOptions {
  /** Where the value came from, for messages ("--connect-url", "KREORG_CONNECT_URLS", "connectUrls of profile prod in …"). */
  where: string
  /** Only the environment may carry a password. */
  allowPassword: boolean
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/**
 * Parses and normalises one URL. Messages never repeat the raw value (it may hold a password): they
 * name where it came from and, when it parsed, the URL without userinfo.
 */
export function parseConnectUrl(raw: string, options: ParseOptions): ConnectEndpoint {
  let parsed: URL
  try {
    parsed = new URL(raw.trim())
  } catch {
    throw new KreorgError('usage', `${options.where}: not a URL (expected http://host:8083)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new KreorgError('usage', `${options.where}: a Kafka Connect URL must start with http:// or https:// (got ${parsed.protocol})`)
  }
  const path = parsed.pathname.replace(/\/+$/, '')
  const url = `${parsed.protocol}//${parsed.host}${path}`
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new KreorgError('usage', `${options.where}: ${url} must not have a query or fragment`)
  }
  const endpoint: ConnectEndpoint = {url}
  if (parsed.username !== '') endpoint.username = safeDecode(parsed.username)
  if (parsed.password !== '') {
    if (!options.allowPassword) {
      // The password is out already (shell history, the file): at least never echo it.
      registerSecret(parsed.password)
      registerSecret(safeDecode(parsed.password))
      throw new KreorgError('usage', `${options.where}: a password in a Kafka Connect URL (${url}) is refused here`, {
        suggestions: [
          `give the URL with user:password@ in ${CONNECT_URLS_ENV} instead (an environment variable stays out of shell history and ps); kreorg uses those credentials for the same URL named by --connect-url or the profile`,
        ],
      })
    }
    endpoint.password = safeDecode(parsed.password)
    registerSecret(parsed.password)
    registerSecret(endpoint.password)
  }
  return endpoint
}

/** The stored form of a URL (no userinfo), for inputs that were validated already. */
export function displayUrl(raw: string): string {
  return parseConnectUrl(raw, {where: 'Kafka Connect URL', allowPassword: true}).url
}

/**
 * The endpoints for the stored URLs: credentials come from the `KREORG_CONNECT_URLS` entry with the
 * same URL (userinfo aside). Read at run time, on start and on every resume, like the control secret.
 */
export function connectEndpoints(
  urls: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConnectEndpoint[] {
  const fromEnv = new Map<string, ConnectEndpoint>()
  const value = env[CONNECT_URLS_ENV]
  if (value !== undefined && value.trim() !== '') {
    for (const [index, raw] of splitConnectUrls(value).entries()) {
      const endpoint = parseConnectUrl(raw, {where: `${CONNECT_URLS_ENV} (entry ${index + 1})`, allowPassword: true})
      fromEnv.set(endpoint.url, endpoint)
    }
  }
  return urls.map((url) => {
    const withCredentials = fromEnv.get(url)
    if (withCredentials) return withCredentials
    return parseConnectUrl(url, {where: 'Kafka Connect URL', allowPassword: false})
  })
}

/** `Authorization` header value for an endpoint with credentials. */
export function basicAuthorization(endpoint: ConnectEndpoint): string | undefined {
  if (endpoint.username === undefined && endpoint.password === undefined) return undefined
  const token = Buffer.from(`${endpoint.username ?? ''}:${endpoint.password ?? ''}`, 'utf8').toString('base64')
  registerSecret(token)
  return `Basic ${token}`
}
