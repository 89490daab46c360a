import {existsSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * The AWS shared config files (`~/.aws/credentials` and `~/.aws/config`), read the way the AWS CLI
 * and SDKs read them: `[name]` sections in the credentials file, `[profile name]` (or `[default]`)
 * in the config file, the credentials file winning for a key both set.
 */

export type AwsEnv = Readonly<Record<string, string | undefined>>

export interface AwsProfileSettings {
  /** Lower-cased keys, as `aws configure` writes them. */
  values: Record<string, string>
  /** The files the profile was found in, for messages. */
  files: string[]
}

function home(env: AwsEnv): string {
  return env.HOME?.trim() || os.homedir()
}

function expandHome(file: string, env: AwsEnv): string {
  return file === '~' || file.startsWith('~/') ? path.join(home(env), file.slice(1)) : file
}

export function awsCredentialsFile(env: AwsEnv): string {
  return expandHome(env.AWS_SHARED_CREDENTIALS_FILE?.trim() || path.join(home(env), '.aws', 'credentials'), env)
}

export function awsConfigFile(env: AwsEnv): string {
  return expandHome(env.AWS_CONFIG_FILE?.trim() || path.join(home(env), '.aws', 'config'), env)
}

/** Sections of an INI file: `[name]` → key/value pairs. Indented lines (sub-sections such as `s3 =`) are skipped. */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>()
  let current: Record<string, string> | undefined
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(raw)) continue
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(raw)
    if (header) {
      const name = header[1]!
      current = sections.get(name) ?? {}
      sections.set(name, current)
      continue
    }
    if (!current || /^\s/.test(raw)) continue
    const pair = /^([^=]+?)\s*=\s*(.*?)\s*$/.exec(raw)
    if (pair) current[pair[1]!.trim().toLowerCase()] = pair[2]!
  }
  return sections
}

function readIni(file: string): Map<string, Record<string, string>> | undefined {
  if (!existsSync(file)) return undefined
  return parseIni(readFileSync(file, 'utf8'))
}

/** The named profile from both files, or undefined when neither has it. Throws on unreadable files. */
export function readAwsProfile(name: string, env: AwsEnv): AwsProfileSettings | undefined {
  const credentialsFile = awsCredentialsFile(env)
  const configFile = awsConfigFile(env)
  const fromConfig =
    readIni(configFile)?.get(name === 'default' ? 'default' : `profile ${name}`) ??
    // The CLI also accepts a bare [default]-style name in the config file for the default profile only.
    (name === 'default' ? readIni(configFile)?.get('profile default') : undefined)
  const fromCredentials = readIni(credentialsFile)?.get(name)
  if (!fromConfig && !fromCredentials) return undefined
  const files = [...(fromCredentials ? [credentialsFile] : []), ...(fromConfig ? [configFile] : [])]
  return {values: {...fromConfig, ...fromCredentials}, files}
}
