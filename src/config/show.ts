import type {Env} from './load.js'

import {redact} from '../core/redact.js'
import {renderTable} from '../core/table.js'
import {connectSettings} from './connect.js'
import {configCandidates} from './load.js'
import {type ConnectionFlags, type EffectiveSetting, resolveConnectionDetails} from './resolve.js'

export interface ConfigView {
  profile: {name: string; file: string; selectedBy: string} | null
  configFile: string | null
  /** Where kreorg looked when there is no config file, so "why is my profile ignored?" answers itself. */
  searched: string[]
  settings: EffectiveSetting[]
  warnings: string[]
}

/** `kreorg config show`: the resolved settings (never connecting), as text and as JSON, secrets masked twice over. */
export function showConnectionConfig(flags: ConnectionFlags, env: Env): {json: ConfigView; text: string} {
  const resolved = resolveConnectionDetails(flags, env, {allowNoBrokers: true})
  const warnings = [...resolved.warnings]
  if (resolved.options.brokers.length === 0) warnings.push('no brokers set: pass --brokers, set KAFKA_BROKERS or pick a profile')
  // The settings already hold masked values; redact() is the second net (registered secrets, PEM keys).
  const json = redact<ConfigView>({
    profile: resolved.profile,
    configFile: resolved.configFile,
    searched: resolved.configFile ? [] : configCandidates(env),
    settings: [...resolved.settings, ...connectSettings(flags, env)],
    warnings,
  })
  const lines: string[] = []
  lines.push(
    json.profile
      ? `profile: ${json.profile.name} from ${json.profile.file} (selected by ${json.profile.selectedBy})`
      : `profile: none${json.configFile ? ` (config file ${json.configFile})` : ` (no config file; looked for ${json.searched.join(', ')})`}`,
  )
  lines.push('')
  lines.push(
    renderTable(
      ['SETTING', 'VALUE', 'SOURCE'],
      json.settings.map((s) => [s.key, s.value === null ? '(not set)' : String(s.value), s.source ?? '-']),
    ),
  )
  for (const warning of json.warnings) lines.push(`warning: ${warning}`)
  return {json, text: lines.join('\n')}
}
