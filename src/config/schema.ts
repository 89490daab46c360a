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
 * ```
 */

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/** Accepts `SCRAM-SHA-512` as well as `scram-sha-512`: both spellings are common in Kafka docs. */
export const saslMechanismSchema = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
  z.enum(SASL_MECHANISMS, {
    errorMap: () => ({message: `expected one of ${SASL_MECHANISMS.join(', ')}`}),
  }),
)

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const inlineSecretRefused = z
  .undefined({message: 'inline passwords are not allowed in the config file: use passwordEnv or passwordFile'})
  .optional()

export const saslProfileSchema = z
  .object({
    mechanism: saslMechanismSchema.optional(),
    username: z.string().min(1).optional(),
    passwordEnv: z.string().regex(ENV_NAME, 'expected an environment variable name').optional(),
    passwordFile: z.string().min(1).optional(),
    password: inlineSecretRefused,
  })
  .strict()
  .refine((sasl) => !(sasl.passwordEnv && sasl.passwordFile), {message: 'set passwordEnv or passwordFile, not both'})

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
    connectTimeout: z.union([z.string().min(1), z.number().positive()]).optional(),
    tls: z.union([z.boolean(), tlsProfileSchema]).optional(),
    sasl: saslProfileSchema.optional(),
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
