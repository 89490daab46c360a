export {
  resolveConnection,
  resolveConnectionDetails,
  describeOrigin,
  CONNECTION_ENV,
  DEFAULT_CLIENT_ID,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from './resolve.js'
export type {ConnectionFlags, EffectiveSetting, ResolvedConnection, ResolveOptions} from './resolve.js'
export {configDir, configCandidates, loadConfigFile, parseConfigText} from './load.js'
export type {Env, LoadedConfig} from './load.js'
export {redact, maskSecrets, registerSecret, isSecretField, MASK} from '../core/redact.js'
export {SASL_MECHANISMS, configFileSchema, profileSchema} from './schema.js'
export type {ConfigFile, ProfileConfig, SaslMechanism} from './schema.js'
