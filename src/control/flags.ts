import {Flags} from '@oclif/core'
import {registerSecret} from '../config/redact.js'
import {DEFAULT_CONTROL_TOPIC} from './schema.js'

/** Flags every command that talks to producer agents shares (grow declares the same names). */
export const controlFlags = {
  'control-topic': Flags.string({description: 'control topic the producer agents follow', default: DEFAULT_CONTROL_TOPIC, helpGroup: 'CONTROL'}),
  'control-secret-env': Flags.string({
    description: 'environment variable holding the shared secret that signs control messages (never printed)',
    default: 'KREORG_CONTROL_SECRET',
    helpGroup: 'CONTROL',
  }),
}

/** The secret from the named environment variable; undefined when unset or empty. */
export function controlSecret(envName: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!envName) return undefined
  const value = env[envName]
  // Masked in every message and --json line from here on, like SASL passwords.
  if (value) registerSecret(value)
  return value ? value : undefined
}
