import {registerSecret} from '../core/redact.js'

/** The secret from the named environment variable; undefined when unset or empty. */
export function controlSecret(envName: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!envName) return undefined
  const value = env[envName]
  // Masked in every message and --json line from here on, like SASL passwords.
  if (value) registerSecret(value)
  return value || undefined
}
