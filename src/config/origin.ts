import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {Env} from './load.js'

import {describeCause, KreorgError} from '../core/errors.js'

/**
 * The pieces every connection setting is resolved with (src/config/resolve.ts for the connection,
 * src/config/sasl.ts for authentication): where a value came from, taking the first layer that sets
 * it, and naming that place in messages.
 */

/** The connection flags of `KafkaCommand` as oclif parses them (all optional: defaults live in the resolver). */
export interface ConnectionFlags {
  brokers?: string | undefined
  'client-id'?: string | undefined
  'connect-timeout'?: number | undefined
  profile?: string | undefined
  'sasl-mechanism'?: string | undefined
  'sasl-username'?: string | undefined
  'sasl-password-env'?: string | undefined
  'sasl-password-file'?: string | undefined
  'oauth-token-command'?: string | undefined
  'oauth-token-file'?: string | undefined
  'oauth-token-endpoint'?: string | undefined
  'oauth-client-id'?: string | undefined
  'oauth-client-secret-env'?: string | undefined
  'oauth-client-secret-file'?: string | undefined
  'oauth-scope'?: string | undefined
  'aws-region'?: string | undefined
  'aws-profile'?: string | undefined
  tls?: boolean | undefined
  'tls-ca'?: string | undefined
  'tls-cert'?: string | undefined
  'tls-key'?: string | undefined
}

/** The environment variables kreorg reads for connections (documented in docs/security.md). */
export const CONNECTION_ENV = {
  brokers: 'KAFKA_BROKERS',
  profile: 'KREORG_PROFILE',
  saslMechanism: 'KAFKA_SASL_MECHANISM',
  saslUsername: 'KAFKA_SASL_USERNAME',
  saslPassword: 'KAFKA_SASL_PASSWORD',
  oauthTokenCommand: 'KAFKA_OAUTH_TOKEN_COMMAND',
  oauthTokenFile: 'KAFKA_OAUTH_TOKEN_FILE',
  oauthTokenEndpoint: 'KAFKA_OAUTH_TOKEN_ENDPOINT',
  oauthClientId: 'KAFKA_OAUTH_CLIENT_ID',
  oauthClientSecret: 'KAFKA_OAUTH_CLIENT_SECRET',
  oauthScope: 'KAFKA_OAUTH_SCOPE',
  tls: 'KAFKA_TLS',
  tlsCaFile: 'KAFKA_TLS_CA_FILE',
  tlsCertFile: 'KAFKA_TLS_CERT_FILE',
  tlsKeyFile: 'KAFKA_TLS_KEY_FILE',
} as const

export type Origin =
  | {kind: 'flag'; name: string}
  | {kind: 'env'; name: string}
  | {kind: 'profile'; profile: string; file: string; key: string}
  | {kind: 'default'}

export interface Picked<T> {
  value: T
  origin: Origin
}

export interface EffectiveSetting {
  key: string
  /** Display value: secrets are already masked, file settings show the path. Null when not set. */
  value: string | number | boolean | null
  source: string | null
}

export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'flag': {
      return `flag --${origin.name}`
    }
    case 'env': {
      return `env ${origin.name}`
    }
    case 'profile': {
      return `profile ${origin.profile} (${origin.key})`
    }
    case 'default': {
      return 'default'
    }
  }
}

/** Where a setting lives, phrased for an error message ("--tls-ca", "KAFKA_TLS_CA_FILE", "tls.caFile of profile prod in <file>"). */
export function whereSet(origin: Origin): string {
  switch (origin.kind) {
    case 'flag': {
      return `--${origin.name}`
    }
    case 'env': {
      return origin.name
    }
    case 'profile': {
      return `${origin.key} of profile ${origin.profile} in ${origin.file}`
    }
    case 'default': {
      return 'the default'
    }
  }
}

export function usage(message: string, suggestions: string[] = []): KreorgError {
  return new KreorgError('usage', message, {suggestions})
}

export function first<T>(...candidates: Array<Picked<T | undefined> | undefined>): Picked<T> | undefined {
  for (const candidate of candidates) {
    if (candidate !== undefined && candidate.value !== undefined) return candidate as Picked<T>
  }
  return undefined
}

export function fromFlag<T>(name: string, value: T | undefined): Picked<T | undefined> {
  return {value, origin: {kind: 'flag', name}}
}

export function fromEnv(env: Env, name: string): Picked<string | undefined> {
  const value = env[name]
  return {value: value === undefined || value.trim() === '' ? undefined : value, origin: {kind: 'env', name}}
}

/** Picks a value from the selected profile, remembering the key; undefined when no profile is selected. */
export type FromProfile = <T>(key: string, value: T | undefined) => Picked<T | undefined> | undefined

export function parseBool(picked: Picked<string>): boolean {
  const value = picked.value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(value)) return true
  if (['0', 'false', 'no', 'off'].includes(value)) return false
  throw usage(`${whereSet(picked.origin)} must be true or false, got "${picked.value}"`)
}

/** `~/x` and paths relative to the config file (for profile settings) or the working directory. */
export function resolvePath(picked: Picked<string>, env: Env): string {
  const raw = picked.value.trim()
  const home = env.HOME?.trim() || os.homedir()
  if (raw === '~' || raw.startsWith('~/')) return path.join(home, raw.slice(1))
  if (path.isAbsolute(raw)) return raw
  const base = picked.origin.kind === 'profile' ? path.dirname(picked.origin.file) : process.cwd()
  return path.resolve(base, raw)
}

export function readSettingFile(picked: Picked<string>, env: Env, what: string): {path: string; contents: string} {
  const file = resolvePath(picked, env)
  try {
    return {path: file, contents: readFileSync(file, 'utf8')}
  } catch (error) {
    // The errno text only (ENOENT/EACCES): never the file's contents.
    const code = (error as NodeJS.ErrnoException).code ?? describeCause(error)
    throw usage(`cannot read ${what} ${file} (from ${whereSet(picked.origin)}): ${code}`)
  }
}
