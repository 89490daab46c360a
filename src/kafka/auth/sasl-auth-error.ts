/** The SASL mechanism names as Kafka spells them on the wire (and kreorg in its messages). */
export type SaslMechanismLabel = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER' | 'AWS_MSK_IAM'

/**
 * Authentication with one of kreorg's own SASL mechanisms (OAUTHBEARER, AWS_MSK_IAM) failed: kreorg
 * could not obtain the credential (a token command failed, a token file is unreadable, no AWS
 * credentials were found) or the broker refused it. Messages never quote a secret. Not retriable,
 * so kafkajs gives up at once instead of rerunning a failing command or hammering the broker.
 */
export class SaslAuthError extends Error {
  readonly retriable = false

  constructor(
    readonly mechanism: SaslMechanismLabel,
    message: string,
  ) {
    super(message)
    this.name = 'SaslAuthError'
  }
}

/** The SaslAuthError anywhere in a cause chain (kafkajs wraps errors in its own). */
export function findSaslAuthError(error: unknown): SaslAuthError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof SaslAuthError) return current
    current = (current as {cause?: unknown}).cause ?? (current as {originalError?: unknown}).originalError
  }
  return undefined
}
