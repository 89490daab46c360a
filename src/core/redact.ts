/**
 * Secrets policy in one place: anything that leaves the process (stdout, stderr, --json, checkpoints,
 * the control topic) goes through `redact()` or `maskSecrets()` first. Two nets, because one is not enough:
 * - by field name: values under keys such as `password`, `secret`, `token` are masked wherever they sit;
 * - by value: the exact passwords/keys this process resolved (registered by the config resolver) are
 *   masked inside any string, e.g. an error message from the client library that echoes one back.
 */

export const MASK = '********'

/**
 * Field names whose values are secrets. `key` alone is deliberately absent: record keys are data
 * (canary keys, sampled keys), and TLS private keys are caught by their PEM header instead.
 */
const SECRET_FIELD = /(pass(word|wd|phrase)?$|passwd|secret|token|credential|private[-_]?key|api[-_]?key|hmac|signing[-_]?key)/i
/** …unless the field names where a secret lives rather than holding it (passwordEnv, passwordFile, keyFile). */
const REFERENCE_FIELD = /(env|file|path|name|source)$/i
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g

/** Secrets shorter than this are not masked inside free text: masking "ab" everywhere would garble every message. */
const MIN_MASKABLE_LENGTH = 4

const registered = new Set<string>()

/** Remembers a secret value for the rest of the process so `maskSecrets`/`redact` can find it in any text. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= MIN_MASKABLE_LENGTH) registered.add(value)
}

/** For tests. */
export function clearRegisteredSecrets(): void {
  registered.clear()
}

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) && !REFERENCE_FIELD.test(name)
}

/** Masks registered (and extra) secret values and PEM private keys inside a string. */
export function maskSecrets(text: string, extra: readonly string[] = []): string {
  let out = text.replaceAll(PEM_PRIVATE_KEY, MASK)
  // Longest first, so a secret that contains another is masked whole.
  const secrets = [...registered, ...extra.filter((s) => s.length >= MIN_MASKABLE_LENGTH)].sort((a, b) => b.length - a.length)
  for (const secret of secrets) out = out.split(secret).join(MASK)
  return out
}

/**
 * A deep copy of `value` with secrets masked: secret-named fields (non-empty values become MASK),
 * PEM private keys, and registered or `secrets` values inside any string. Buffers are treated as
 * opaque and masked, since kreorg never needs to show raw bytes from its inputs.
 */
export function redact<T>(value: T, options: {secrets?: readonly string[]} = {}): T {
  const extra = options.secrets ?? []
  const seen = new WeakMap<object, unknown>()
  const walk = (node: unknown, field: string | undefined): unknown => {
    if (field !== undefined && isSecretField(field) && node !== undefined && node !== null && node !== '') {
      return typeof node === 'object' && !Array.isArray(node) && !Buffer.isBuffer(node) ? walkObject(node as object) : MASK
    }
    if (typeof node === 'string') return maskSecrets(node, extra)
    if (node === null || typeof node !== 'object') return node
    if (Buffer.isBuffer(node)) return MASK
    if (node instanceof Date) return new Date(node.getTime())
    if (node instanceof Error) return {name: node.name, message: maskSecrets(node.message, extra)}
    return walkObject(node)
  }
  const walkObject = (node: object): unknown => {
    if (seen.has(node)) return seen.get(node)
    if (Array.isArray(node)) {
      const copy: unknown[] = []
      seen.set(node, copy)
      for (const item of node) copy.push(walk(item, undefined))
      return copy
    }
    const copy: Record<string, unknown> = {}
    seen.set(node, copy)
    for (const [key, child] of Object.entries(node)) copy[key] = walk(child, key)
    return copy
  }
  return walk(value, undefined) as T
}
