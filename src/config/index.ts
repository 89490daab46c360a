export {isSecretField, MASK, maskSecrets, redact, registerSecret} from '../core/redact.js'
export {configCandidates, configDir, loadConfigFile, parseConfigText} from './load.js'
export type {Env, LoadedConfig} from './load.js'
export {
  CONNECTION_ENV,
  DEFAULT_CLIENT_ID,
  DEFAULT_CONNECT_TIMEOUT_MS,
  describeOrigin,
  resolveConnection,
  resolveConnectionDetails,
} from './resolve.js'
export type {ConnectionFlags, EffectiveSetting, ResolvedConnection, ResolveOptions} from './resolve.js'
export {configFileSchema, profileSchema, SASL_MECHANISMS} from './schema.js'
export type {ConfigFile, ProfileConfig, SaslMechanism} from './schema.js'
