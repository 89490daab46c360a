/** Errors the agent's `send`, `sendBatch` and `transaction` reject with, typed so applications can tell them apart. */

/**
 * The send was not held: `maxHeldSends` records are already waiting for a resume. Failing fast keeps
 * a long pause from growing the process without bound; the application decides whether to drop,
 * spill or retry the record later.
 */
export class HeldSendsFullError extends Error {
  override readonly name = 'HeldSendsFullError'
  readonly code = 'HELD_SENDS_FULL'

  constructor(
    /** Records already held when the send was refused. */
    readonly held: number,
    /** Records the refused send carried. */
    readonly records: number,
    readonly maxHeldSends: number,
    readonly topics: readonly string[],
  ) {
    super(
      `kreorg agent: ${held} records are already held while ${topics.join(', ')} ${topics.length === 1 ? 'is' : 'are'} paused; a send of ${records} more would exceed maxHeldSends ${maxHeldSends}`,
    )
  }
}

/**
 * The send was still held by a pause when its deadline (`sendTimeoutMs`, or the call's `timeoutMs`)
 * passed. Its records were never handed to the producer; sends held after it keep their order.
 */
export class SendDeadlineError extends Error {
  override readonly name = 'SendDeadlineError'
  readonly code = 'SEND_DEADLINE'

  constructor(
    readonly timeoutMs: number,
    readonly topics: readonly string[],
  ) {
    super(`kreorg agent: the send to ${topics.join(', ')} was held by a pause for ${timeoutMs}ms, its deadline: the records were not sent`)
  }
}
