import {z} from 'zod'

/**
 * The profile file, `$XDG_CONFIG_HOME/kreorg/config.yaml` (or `.json`). Strict objects: a typo such as
 * `sasl.mechansim` must fail loudly instead of silently connecting without authentication.
 *
 * ```yaml
 * defaultProfile: prod          # used when neither --profile nor KREORG_PROFILE is given
 * profiles:
 *   prod:
 *     brokers: [kafka-1:9093, kafka-2:9093]
 *     clientId: kreorg-oncall
 *     connectTimeout: 15s
 *     tls: {caFile: /etc/kafka/ca.pem}
 *     sasl: {mechanism: scram-sha-512, username: kreorg, passwordEnv: KREORG_PROD_PASSWORD}
 *   idp:
 *     sasl: {mechanism: oauthbearer, oauth: {tokenEndpoint: https://idp/token, clientId: kreorg, clientSecretEnv: IDP_SECRET}}
 *   msk:
 *     sasl: {mechanism: aws-msk-iam, aws: {profile: ops}}   # region from the broker host names
 *     connectUrls: [http://connect-1:8083]                  # grow pauses Kafka Connect source connectors here
 * ```
 */

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer', 'aws-msk-iam'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/** Accepts `SCRAM-SHA-512` and `AWS_MSK_IAM` as well as `scram-sha-512` and `aws-msk-iam`: both spellings are common. */
export const saslMechanismSchema = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim().toLowerCase().replaceAll('_', '-') : value),
  z.enum(SASL_MECHANISMS, {
    errorMap: () => ({message: `expected one of ${SASL_MECHANISMS.join(', ')}`}),
  }),
)

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const inlineSecretRefused = z
  .undefined({message: 'inline passwords are not allowed in the config file: use passwordEnv or passwordFile'})
  .optional()

/** A duration ("15s", "500ms") or a number of seconds. */
const durationSetting = z.union([z.string().min(1), z.number().positive()])

/** OAUTHBEARER: exactly one token source; the client secret only by reference, like passwords. */
export const oauthProfileSchema = z
  .object({
    /** A shell command whose stdout is the token, run again before the token expires. */
    tokenCommand: z.string().min(1).optional(),
    /** A file holding the token, read again before it expires. */
    tokenFile: z.string().min(1).optional(),
    /** An OAuth 2.0 / OIDC token endpoint, client-credentials grant. */
    tokenEndpoint: z.string().url().optional(),
    clientId: z.string().min(1).optional(),
    clientSecretEnv: z.string().regex(ENV_NAME, 'expected an environment variable name').optional(),
    clientSecretFile: z.string().min(1).optional(),
    scope: z.string().min(1).optional(),
    /** How long the token command or endpoint may take; default: a little under the connect timeout. */
    timeout: durationSetting.optional(),
    clientSecret: z
      .undefined({message: 'inline secrets are not allowed in the config file: use clientSecretEnv or clientSecretFile'})
      .optional(),
    token: z.undefined({message: 'inline tokens are not allowed in the config file: use tokenFile or tokenCommand'}).optional(),
  })
  .strict()
  .refine((o) => [o.tokenCommand, o.tokenFile, o.tokenEndpoint].filter((v) => v !== undefined).length <= 1, {
    message: 'set one of tokenCommand, tokenFile or tokenEndpoint',
  })
  .refine((o) => !(o.clientSecretEnv && o.clientSecretFile), {message: 'set clientSecretEnv or clientSecretFile, not both'})

/** AWS_MSK_IAM: credentials always come from the AWS credential chain, never from this file. */
export const awsProfileSchema = z
  .object({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region such as us-east-1')
      .optional(),
    /** A profile of ~/.aws/credentials and ~/.aws/config. */
    profile: z.string().min(1).optional(),
  })
  .strict()

const PASSWORD_MECHANISMS: ReadonlySet<SaslMechanism> = new Set(['plain', 'scram-sha-256', 'scram-sha-512'])

export const saslProfileSchema = z
  .object({
    mechanism: saslMechanismSchema.optional(),
    username: z.string().min(1).optional(),
    passwordEnv: z.string().regex(ENV_NAME, 'expected an environment variable name').optional(),
    passwordFile: z.string().min(1).optional(),
    password: inlineSecretRefused,
    oauth: oauthProfileSchema.optional(),
    aws: awsProfileSchema.optional(),
  })
  .strict()
  .refine((sasl) => !(sasl.passwordEnv && sasl.passwordFile), {message: 'set passwordEnv or passwordFile, not both'})
  .superRefine((sasl, ctx) => {
    // One profile, one mechanism: settings of another mechanism would be silently ignored.
    const families = {
      password: sasl.username !== undefined || sasl.passwordEnv !== undefined || sasl.passwordFile !== undefined,
      oauthbearer: sasl.oauth !== undefined,
      'aws-msk-iam': sasl.aws !== undefined,
    }
    const present = Object.entries(families)
      .filter(([, set]) => set)
      .map(([family]) => family)
    const expected = sasl.mechanism === undefined ? undefined : PASSWORD_MECHANISMS.has(sasl.mechanism) ? 'password' : sasl.mechanism
    const names: Record<string, string> = {password: 'username/passwordEnv/passwordFile', oauthbearer: 'oauth', 'aws-msk-iam': 'aws'}
    const wrong = present.filter((family) => (expected ? family !== expected : present.length > 1))
    if (wrong.length > 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: expected
          ? `${wrong.map((f) => names[f]).join(' and ')} cannot be used with mechanism ${sasl.mechanism}`
          : `${present.map((f) => names[f]).join(' and ')} belong to different mechanisms: set one, and sasl.mechanism`,
      })
    }
  })

export const tlsProfileSchema = z
  .object({
    enabled: z.boolean().optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Test clusters with throwaway certificates only; `config show` warns whenever it is on. */
    insecureSkipVerify: z.boolean().optional(),
  })
  .strict()

export const profileSchema = z
  .object({
    brokers: z.union([z.string().min(1), z.array(z.string().min(1)).nonempty()]).optional(),
    clientId: z.string().min(1).optional(),
    /** A duration ("15s", "500ms") or a number of seconds, like --connect-timeout. */
    connectTimeout: durationSetting.optional(),
    tls: z.union([z.boolean(), tlsProfileSchema]).optional(),
    sasl: saslProfileSchema.optional(),
    /** Kafka Connect REST URLs `grow` pauses source connectors through (like --connect-url); credentials only from KREORG_CONNECT_URLS. */
    connectUrls: z.array(z.string().min(1)).nonempty().optional(),
  })
  .strict()

export const configFileSchema = z
  .object({
    defaultProfile: z.string().min(1).optional(),
    profiles: z.record(z.string(), profileSchema).default({}),
  })
  .strict()

export type ProfileConfig = z.infer<typeof profileSchema>
export type ConfigFile = z.infer<typeof configFileSchema>
