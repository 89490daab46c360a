import type {PasswordSaslOptions, SaslOptions} from '../types.js'
import type {CustomMechanism} from './mechanism.js'
import type {SaslMechanismLabel} from './sasl-auth-error.js'

import {awsCredentialProvider} from './aws-credentials.js'
import {mskIamMechanism} from './msk-iam.js'
import {oauthBearerMechanism} from './oauthbearer-mechanism.js'
import {oauthTokenProvider} from './oauthbearer.js'

export {findSaslAuthError, SaslAuthError} from './sasl-auth-error.js'
export type {SaslMechanismLabel} from './sasl-auth-error.js'

/** The mechanism as Kafka names it, for messages: SCRAM-SHA-512, OAUTHBEARER, AWS_MSK_IAM. */
export function saslMechanismLabel(sasl: SaslOptions): SaslMechanismLabel {
  return sasl.mechanism === 'aws-msk-iam' ? 'AWS_MSK_IAM' : (sasl.mechanism.toUpperCase() as SaslMechanismLabel)
}

/** What to check when authentication with this mechanism fails; names the flags that set it. */
export function saslFailureHint(sasl: SaslOptions): string {
  switch (sasl.mechanism) {
    case 'oauthbearer': {
      return 'check the token source (--oauth-token-command, --oauth-token-file or --oauth-token-endpoint, or sasl.* in the profile) and that the broker accepts its issuer, audience and subject'
    }
    case 'aws-msk-iam': {
      return 'check the AWS credentials (AWS_PROFILE/--aws-profile, AWS_ACCESS_KEY_ID…), the region (--aws-region) and that the IAM policy allows kafka-cluster:Connect'
    }
    default: {
      return 'check the username and password (--sasl-username, KAFKA_SASL_PASSWORD or the profile)'
    }
  }
}

type PasswordMechanism = PasswordSaslOptions['mechanism']
/** One object type per mechanism (not one with a union-typed `mechanism`), as kafkajs's SASLOptions is written. */
type PasswordSasl = {[M in PasswordMechanism]: {mechanism: M; username: string; password: string}}[PasswordMechanism]

export type KafkaSasl = PasswordSasl | CustomMechanism

/**
 * One client configuration per SaslOptions object: every kafkajs client built from the same
 * connection options (the admin, a per-broker probe, producers, consumers) shares one token cache
 * and one credential lookup, so a token command runs once per refresh, not once per connection.
 */
const configs = new WeakMap<SaslOptions, KafkaSasl>()

export function kafkaSasl(sasl: SaslOptions): KafkaSasl {
  const known = configs.get(sasl)
  if (known) return known
  let config: KafkaSasl
  switch (sasl.mechanism) {
    case 'oauthbearer': {
      config = oauthBearerMechanism(oauthTokenProvider(sasl.token))
      break
    }
    case 'aws-msk-iam': {
      config = mskIamMechanism({
        region: sasl.region,
        credentials: awsCredentialProvider({env: process.env, ...(sasl.awsProfile ? {profile: sasl.awsProfile} : {})}),
        userAgent: `kreorg node/${process.versions.node}`,
      })
      break
    }
    default: {
      config = {mechanism: sasl.mechanism, username: sasl.username, password: sasl.password} as PasswordSasl
    }
  }
  configs.set(sasl, config)
  return config
}
