import type {Env} from './load.js'

import {CONNECTION_ENV, type ConnectionFlags, first, fromEnv, fromFlag, type FromProfile, type Picked, usage, whereSet} from './origin.js'
import {type ProfileConfig, SASL_MECHANISMS, type SaslMechanism, saslMechanismSchema} from './schema.js'

/**
 * Every SASL setting, each taken from the first layer that sets it (flags > env > profile), before
 * any of them is interpreted. A secret is picked as a reference (an env var name or a file), never
 * as its value, so nothing here holds a secret.
 */

export interface SecretRef {
  from: 'env' | 'file'
  ref: string
}

export type TokenSourceKind = 'command' | 'file' | 'endpoint'

export interface SaslPicks {
  mechanism?: Picked<string> | undefined
  username?: Picked<string> | undefined
  password?: Picked<SecretRef> | undefined
  token?: Picked<{kind: TokenSourceKind; value: string}> | undefined
  clientId?: Picked<string> | undefined
  clientSecret?: Picked<SecretRef> | undefined
  scope?: Picked<string> | undefined
  tokenTimeout?: Picked<string | number> | undefined
  awsRegion?: Picked<string> | undefined
  awsProfile?: Picked<string> | undefined
}

type Family = 'password' | 'oauthbearer' | 'aws-msk-iam'

const FAMILY_OF: Record<Exclude<keyof SaslPicks, 'mechanism'>, Family> = {
  username: 'password',
  password: 'password',
  token: 'oauthbearer',
  clientId: 'oauthbearer',
  clientSecret: 'oauthbearer',
  scope: 'oauthbearer',
  tokenTimeout: 'oauthbearer',
  awsRegion: 'aws-msk-iam',
  awsProfile: 'aws-msk-iam',
}

/** As Kafka spells it in messages: SCRAM-SHA-512, OAUTHBEARER, AWS_MSK_IAM. */
export function mechanismLabel(mechanism: SaslMechanism): string {
  return mechanism === 'aws-msk-iam' ? 'AWS_MSK_IAM' : mechanism.toUpperCase()
}

export function familyOf(mechanism: SaslMechanism): Family {
  return mechanism === 'oauthbearer' || mechanism === 'aws-msk-iam' ? mechanism : 'password'
}

interface SecretSettings {
  /** [flag name, value] of the file flag and of the env-name flag. */
  flagFile: [string, string | undefined]
  flagEnv: [string, string | undefined]
  /** The env var that holds the secret itself (KAFKA_SASL_PASSWORD, KAFKA_OAUTH_CLIENT_SECRET). */
  valueEnv: string
  /** [profile key, value] of the profile's file and env-name settings. */
  profileFile: [string, string | undefined]
  profileEnv: [string, string | undefined]
}

/** A reference to a secret: a file flag, an env-name flag, the value's own env var, then the profile's file or env name. */
function pickSecret(settings: SecretSettings, env: Env, fromProfile: FromProfile): Picked<SecretRef> | undefined {
  const {flagFile, flagEnv, valueEnv, profileFile, profileEnv} = settings
  if (flagFile[1] !== undefined && flagEnv[1] !== undefined) throw usage(`pass --${flagEnv[0]} or --${flagFile[0]}, not both`)
  const ref = (from: SecretRef['from'], value: string | undefined): SecretRef | undefined =>
    value === undefined ? undefined : {from, ref: value}
  return first<SecretRef>(
    flagFile[1] === undefined ? undefined : fromFlag(flagFile[0], ref('file', flagFile[1])),
    flagEnv[1] === undefined ? undefined : fromFlag(flagEnv[0], ref('env', flagEnv[1])),
    env[valueEnv] === undefined || env[valueEnv] === ''
      ? undefined
      : {value: {from: 'env', ref: valueEnv}, origin: {kind: 'env', name: valueEnv}},
    profileFile[1] === undefined ? undefined : fromProfile(profileFile[0], ref('file', profileFile[1])),
    profileEnv[1] === undefined ? undefined : fromProfile(profileEnv[0], ref('env', profileEnv[1])),
  )
}

interface TokenSourceSetting {
  kind: TokenSourceKind
  flag: 'oauth-token-command' | 'oauth-token-file' | 'oauth-token-endpoint'
  envName: string
  profileKey: 'tokenCommand' | 'tokenFile' | 'tokenEndpoint'
}

const TOKEN_SOURCES: readonly TokenSourceSetting[] = [
  {kind: 'command', flag: 'oauth-token-command', envName: CONNECTION_ENV.oauthTokenCommand, profileKey: 'tokenCommand'},
  {kind: 'file', flag: 'oauth-token-file', envName: CONNECTION_ENV.oauthTokenFile, profileKey: 'tokenFile'},
  {kind: 'endpoint', flag: 'oauth-token-endpoint', envName: CONNECTION_ENV.oauthTokenEndpoint, profileKey: 'tokenEndpoint'},
]

/** One token source per layer: two in the same layer is a usage error, a higher layer's replaces a lower one's whole. */
function pickTokenSource(
  flags: ConnectionFlags,
  env: Env,
  oauth: NonNullable<ProfileConfig['sasl']>['oauth'],
  fromProfile: FromProfile,
): SaslPicks['token'] {
  const inFlags = TOKEN_SOURCES.filter((source) => flags[source.flag] !== undefined)
  if (inFlags.length > 1) throw usage(`pass one of ${inFlags.map((source) => `--${source.flag}`).join(', ')}, not several`)
  const inEnv = TOKEN_SOURCES.filter((source) => fromEnv(env, source.envName).value !== undefined)
  if (inEnv.length > 1) throw usage(`set one of ${inEnv.map((source) => source.envName).join(', ')}, not several`)
  const inProfile = TOKEN_SOURCES.find((source) => oauth?.[source.profileKey] !== undefined)
  const [flagPick] = inFlags
  const [envPick] = inEnv
  return first(
    flagPick ? fromFlag(flagPick.flag, {kind: flagPick.kind, value: flags[flagPick.flag]!}) : undefined,
    envPick ? {value: {kind: envPick.kind, value: env[envPick.envName]!}, origin: {kind: 'env', name: envPick.envName}} : undefined,
    inProfile ? fromProfile(`sasl.oauth.${inProfile.profileKey}`, {kind: inProfile.kind, value: oauth![inProfile.profileKey]!}) : undefined,
  )
}

export function pickSasl(
  flags: ConnectionFlags,
  env: Env,
  profileSasl: NonNullable<ProfileConfig['sasl']>,
  fromProfile: FromProfile,
): SaslPicks {
  const oauth = profileSasl.oauth
  return {
    mechanism: first<string>(
      fromFlag('sasl-mechanism', flags['sasl-mechanism']),
      fromEnv(env, CONNECTION_ENV.saslMechanism),
      fromProfile('sasl.mechanism', profileSasl.mechanism),
    ),
    username: first<string>(
      fromFlag('sasl-username', flags['sasl-username']),
      fromEnv(env, CONNECTION_ENV.saslUsername),
      fromProfile('sasl.username', profileSasl.username),
    ),
    password: pickSecret(
      {
        flagFile: ['sasl-password-file', flags['sasl-password-file']],
        flagEnv: ['sasl-password-env', flags['sasl-password-env']],
        valueEnv: CONNECTION_ENV.saslPassword,
        profileFile: ['sasl.passwordFile', profileSasl.passwordFile],
        profileEnv: ['sasl.passwordEnv', profileSasl.passwordEnv],
      },
      env,
      fromProfile,
    ),
    token: pickTokenSource(flags, env, oauth, fromProfile),
    clientId: first<string>(
      fromFlag('oauth-client-id', flags['oauth-client-id']),
      fromEnv(env, CONNECTION_ENV.oauthClientId),
      fromProfile('sasl.oauth.clientId', oauth?.clientId),
    ),
    clientSecret: pickSecret(
      {
        flagFile: ['oauth-client-secret-file', flags['oauth-client-secret-file']],
        flagEnv: ['oauth-client-secret-env', flags['oauth-client-secret-env']],
        valueEnv: CONNECTION_ENV.oauthClientSecret,
        profileFile: ['sasl.oauth.clientSecretFile', oauth?.clientSecretFile],
        profileEnv: ['sasl.oauth.clientSecretEnv', oauth?.clientSecretEnv],
      },
      env,
      fromProfile,
    ),
    scope: first<string>(
      fromFlag('oauth-scope', flags['oauth-scope']),
      fromEnv(env, CONNECTION_ENV.oauthScope),
      fromProfile('sasl.oauth.scope', oauth?.scope),
    ),
    tokenTimeout: first<string | number>(fromProfile('sasl.oauth.timeout', oauth?.timeout)),
    // AWS_REGION and AWS_PROFILE are the AWS tools' own settings, consulted after these (src/config/sasl.ts).
    awsRegion: first<string>(fromFlag('aws-region', flags['aws-region']), fromProfile('sasl.aws.region', profileSasl.aws?.region)),
    awsProfile: first<string>(fromFlag('aws-profile', flags['aws-profile']), fromProfile('sasl.aws.profile', profileSasl.aws?.profile)),
  }
}

export interface MechanismChoice {
  mechanism: SaslMechanism
  /** The setting that chose it: the mechanism itself, or the token source that implies OAUTHBEARER. */
  pick: Picked<unknown>
  implied: boolean
}

/**
 * The mechanism, or undefined when SASL is off. A token source alone implies OAUTHBEARER (it means
 * nothing else); a username alone is an error, as it always was.
 */
export function chooseMechanism(picks: SaslPicks): MechanismChoice | undefined {
  if (picks.mechanism) {
    const parsed = saslMechanismSchema.safeParse(picks.mechanism.value)
    if (!parsed.success) {
      throw usage(
        `${whereSet(picks.mechanism.origin)}: unknown SASL mechanism "${picks.mechanism.value}", expected ${SASL_MECHANISMS.join(', ')}`,
      )
    }
    return {mechanism: parsed.data, pick: picks.mechanism, implied: false}
  }
  if (picks.username) {
    throw usage(`a SASL username is set (${whereSet(picks.username.origin)}) but no SASL mechanism`, [
      'pass --sasl-mechanism plain|scram-sha-256|scram-sha-512, set KAFKA_SASL_MECHANISM, or sasl.mechanism in the profile',
    ])
  }
  if (picks.token) return {mechanism: 'oauthbearer', pick: picks.token, implied: true}
  return undefined
}

/**
 * Settings of another mechanism than the chosen one: a flag is an error (it was typed for this run
 * and would be ignored), env and profile settings are warnings (they may be meant for other runs).
 */
export function checkForeignSettings(picks: SaslPicks, choice: MechanismChoice | undefined, warnings: string[]): void {
  const family = choice ? familyOf(choice.mechanism) : undefined
  const label = choice ? mechanismLabel(choice.mechanism) : undefined
  for (const [name, owner] of Object.entries(FAMILY_OF) as Array<[keyof typeof FAMILY_OF, Family]>) {
    const picked = picks[name]
    if (!picked || owner === family) continue
    // Kept as it always was: a password without a mechanism or username only warns.
    if (!choice && name === 'password') {
      warnings.push(`a SASL password is set (${whereSet(picked.origin)}) but no mechanism or username, so SASL is off`)
      continue
    }
    const why = choice ? `the SASL mechanism is ${label} (${whereSet(choice.pick.origin)})` : 'SASL is off (no --sasl-mechanism)'
    if (picked.origin.kind === 'flag') {
      const wanted = owner === 'password' ? 'plain|scram-sha-256|scram-sha-512' : owner
      throw usage(`${whereSet(picked.origin)} is set but ${why}`, [`pass --sasl-mechanism ${wanted}, or drop ${whereSet(picked.origin)}`])
    }
    warnings.push(`${whereSet(picked.origin)} is ignored: ${why}`)
  }
}
