import type {Env} from './load.js'
import type {EffectiveSetting} from './origin.js'

import {CONNECT_URLS_ENV, connectEndpoints, parseConnectUrl, splitConnectUrls} from '../connect/urls.js'
import {MASK} from '../core/redact.js'
import {selectProfile} from './resolve.js'

/**
 * The Kafka Connect workers `grow` pauses source connectors through: `--connect-url` (repeatable),
 * else `KREORG_CONNECT_URLS`, else `connectUrls` of the selected profile — the first layer that sets
 * the list, like every connection setting. Only the environment may carry `user:password@`; for URLs
 * from the flag or the profile, the credentials of the `KREORG_CONNECT_URLS` entry with the same URL
 * are used at run time (src/connect/urls.ts). The URLs come back without userinfo: what a run stores.
 */
export function resolveConnectUrlsDetails(
  flags: {'connect-url'?: string[] | undefined; profile?: string | undefined},
  env: Env,
): {urls: string[]; source: string | null} {
  const given = flags['connect-url'] ?? []
  if (given.length > 0) {
    const urls = given
      .flatMap((value) => splitConnectUrls(value))
      .map((raw) => parseConnectUrl(raw, {where: '--connect-url', allowPassword: false}).url)
    return {urls: [...new Set(urls)], source: 'flag --connect-url'}
  }
  if ((env[CONNECT_URLS_ENV] ?? '').trim() !== '') {
    const urls = splitConnectUrls(env[CONNECT_URLS_ENV]!).map(
      (raw, index) => parseConnectUrl(raw, {where: `${CONNECT_URLS_ENV} (entry ${index + 1})`, allowPassword: true}).url,
    )
    return {urls: [...new Set(urls)], source: `env ${CONNECT_URLS_ENV}`}
  }
  const {profile, profileInfo} = selectProfile(flags, env)
  if (!profileInfo || !profile.connectUrls) return {urls: [], source: null}
  const urls = profile.connectUrls.map(
    (raw, index) =>
      parseConnectUrl(raw, {where: `connectUrls[${index}] of profile ${profileInfo.name} in ${profileInfo.file}`, allowPassword: false})
        .url,
  )
  return {urls: [...new Set(urls)], source: `profile ${profileInfo.name} (connectUrls)`}
}

export function resolveConnectUrls(flags: {'connect-url'?: string[] | undefined; profile?: string | undefined}, env: Env): string[] {
  return resolveConnectUrlsDetails(flags, env).urls
}

/** `config show` rows: the URLs and, masked, which of them have credentials. */
export function connectSettings(flags: {profile?: string | undefined}, env: Env): EffectiveSetting[] {
  const {urls, source} = resolveConnectUrlsDetails(flags, env)
  const rows: EffectiveSetting[] = [{key: 'connectUrls', value: urls.length > 0 ? urls.join(',') : null, source}]
  const withCredentials = connectEndpoints(urls, env).filter((e) => e.password !== undefined || e.username !== undefined)
  if (withCredentials.length > 0) {
    rows.push({
      key: 'connectUrls.credentials',
      value: `${MASK} (for ${withCredentials.map((e) => e.url).join(', ')})`,
      source: `env ${CONNECT_URLS_ENV}`,
    })
  }
  return rows
}
