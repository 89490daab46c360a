import type {ZodError} from 'zod'

import {existsSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parse as parseYaml} from 'yaml'

import {describeCause, KreorgError} from '../core/errors.js'
import {type ConfigFile, configFileSchema} from './schema.js'

export type Env = Readonly<Record<string, string | undefined>>

/** `$XDG_CONFIG_HOME/kreorg`, else `~/.config/kreorg` (the XDG base-directory default). */
export function configDir(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME?.trim()
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'kreorg')
  const home = env.HOME?.trim() || os.homedir()
  return path.join(home, '.config', 'kreorg')
}

/** The config files kreorg looks for, in order: YAML first, then JSON. */
export function configCandidates(env: Env): string[] {
  const dir = configDir(env)
  return [path.join(dir, 'config.yaml'), path.join(dir, 'config.yml'), path.join(dir, 'config.json')]
}

export interface LoadedConfig {
  file: string
  config: ConfigFile
}

function configError(file: string, detail: string): KreorgError {
  return new KreorgError('usage', `config file ${file}: ${detail}`, {
    suggestions: ['fix the file, or run `kreorg config show` to see which settings are in effect'],
  })
}

function formatZodError(error: ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid'
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''
  return `${where}: ${issue.message}${more}`
}

/** Parses and validates one config file's text; errors name the file and the offending key. */
export function parseConfigText(file: string, text: string): ConfigFile {
  let raw: unknown
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, {prettyErrors: false})
  } catch (error) {
    // First line only: YAML errors carry a multi-line code frame, and a message must stay one line.
    const first = describeCause(error).split('\n')[0] ?? 'unparseable'
    throw configError(file, `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${first}`)
  }
  // An empty YAML file parses to null: treat it as "no profiles".
  const result = configFileSchema.safeParse(raw ?? {})
  if (!result.success) throw configError(file, formatZodError(result.error))
  return result.data
}

/** The first config file that exists, parsed; null when there is none. Unreadable or invalid files are errors. */
export function loadConfigFile(env: Env): LoadedConfig | null {
  const file = configCandidates(env).find((candidate) => existsSync(candidate))
  if (!file) return null
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw configError(file, `cannot read it: ${describeCause(error)}`)
  }
  return {file, config: parseConfigText(file, text)}
}
