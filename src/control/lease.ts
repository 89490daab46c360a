/**
 * Topic leases, the cluster-wide lock on a topic: claim, renew and release records on
 * `lease/<topic>`, judged by the fold (state.ts) so that every reader agrees on the holder.
 */
import {hostname} from 'node:os'

import type {CommandOptions, ControlLease, ControlLogger, LeaseHolderIdentity, LeaseInfo} from './port.js'
import type {LeaseHolder, LeaseOutcome} from './state.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {type LeaseRecord, MAX_LEASE_MS} from './schema.js'

/** What leases need from the channel: the fold's view of holders and a way to append lease records. */
export interface LeaseLog {
  readonly logger: ControlLogger
  holderAt(topic: string, time: number): LeaseHolder | undefined
  /** Appends a lease record (with the holder's epoch, if any), reads it back and returns how the fold judged it. */
  writeLease(topic: string, op: LeaseRecord['op'], holder: LeaseHolderIdentity, leaseMs: number): Promise<LeaseOutcome>
  /** Folds in every record that exists now (a no-op without a control topic). */
  catchUp(): Promise<void>
}

/** Why a refused claim or renew was refused, for messages. */
export function refusalReason(outcome: Extract<LeaseOutcome, {granted: false}>): string {
  if (outcome.reason === 'stale-epoch') {
    return `a later attempt of the same run claimed it with epoch ${outcome.latestEpoch} (this attempt's epoch is ${outcome.epoch}): this orchestrator is stale`
  }
  return `taken over by run ${outcome.holder.runId} on ${outcome.holder.host}`
}

function staleAttemptError(topic: string, runId: string, outcome: Extract<LeaseOutcome, {reason: 'stale-epoch'}>): KreorgError {
  return new KreorgError('lease-held', `the lease on ${topic} for run ${runId} is refused: ${refusalReason(outcome)}`, {
    suggestions: [`another process resumed run ${runId}; let it finish (\`kreorg status ${runId}\`) instead of continuing here`],
  })
}

function leaseHeldError(topic: string, holder: LeaseHolder): KreorgError {
  const expires = new Date(holder.expiresAt).toISOString()
  return new KreorgError(
    'lease-held',
    `topic ${topic} is held by run ${holder.runId} on ${holder.host} (pid ${holder.pid}) until ${expires}`,
    {
      suggestions: [
        `wait for that run to finish or its lease to lapse at ${expires}; \`kreorg producers ${topic}\` shows the agents' state`,
      ],
    },
  )
}

/**
 * A held topic lease. It renews itself every third of its duration until released; `valid()` turns
 * false for good as soon as a renewal is late or refused, because agents may have resumed meanwhile.
 */
export class Lease implements ControlLease {
  private timer: NodeJS.Timeout | undefined
  private lost: string | undefined
  private released = false
  private _expiresAt: number

  constructor(
    private readonly leases: Leases,
    readonly topic: string,
    readonly holder: LeaseHolderIdentity,
    readonly leaseMs: number,
    readonly acquiredAt: number,
    expiresAt: number,
  ) {
    this._expiresAt = expiresAt
    this.schedule()
  }

  get runId(): string {
    return this.holder.runId
  }

  /** The attempt's fencing epoch its claim and renewals carry (undefined: a v1 lease without one). */
  get epoch(): number | undefined {
    return this.holder.epoch
  }

  get expiresAt(): number {
    return this._expiresAt
  }

  /** Why the lease is no longer held, if it is not. */
  get lostReason(): string | undefined {
    if (this.released) return 'released'
    if (this.lost) return this.lost
    if (Date.now() >= this._expiresAt) return `lapsed at ${new Date(this._expiresAt).toISOString()}`
    return undefined
  }

  valid(): boolean {
    return this.lostReason === undefined
  }

  /** Throws unless the lease is valid: the runbook calls this right before add-partitions. */
  assertValid(step?: string): void {
    const reason = this.lostReason
    if (reason !== undefined) throw leaseLostError(this.topic, this.runId, reason, step)
  }

  private schedule(): void {
    if (this.released || this.lost) return
    const interval = Math.max(50, Math.floor(this.leaseMs / 3))
    this.timer = setTimeout(() => void this.renew().finally(() => this.schedule()), interval)
    this.timer.unref?.()
  }

  /** One renewal now (also called by the timer). */
  async renew(): Promise<void> {
    if (this.released || this.lost) return
    const log = this.leases.log
    try {
      const outcome = await log.writeLease(this.topic, 'renew', this.holder, this.leaseMs)
      if (this.released) return
      if (outcome.op !== 'release' && outcome.granted && outcome.continuous) {
        this._expiresAt = outcome.holder.expiresAt
      } else if (outcome.op !== 'release' && !outcome.granted) {
        this.lost = refusalReason(outcome)
      } else {
        this.lost = `renewal came after the lease lapsed at ${new Date(this._expiresAt).toISOString()}`
      }
      if (this.lost) log.logger.warn(`lease on ${this.topic} lost: ${this.lost}`)
    } catch (error) {
      // Transient: the next tick retries; if renewals keep failing, the lease lapses and valid() says so.
      log.logger.warn(`lease on ${this.topic}: renewal failed: ${describeCause(error)}`)
    }
  }

  /** Stops renewing without releasing (an interrupted run lets the lease lapse; its agents resume). */
  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  async release(): Promise<void> {
    if (this.released) return
    this.stop()
    this.released = true
    this.leases.forget(this)
    await this.leases.log.writeLease(this.topic, 'release', this.holder, 0)
  }
}

/** The leases one channel holds, by topic. */
export class Leases {
  private readonly held = new Map<string, Lease>()

  constructor(readonly log: LeaseLog) {}

  /**
   * Takes the topic's lease (re-entrant for the same run id). Race-safe: the claim is appended and
   * the partition read back up to it; the first still-valid claim in log order wins, and every
   * reader computes the same answer. Throws KreorgError('lease-held') (exit 6) naming the holder.
   */
  async acquire(topic: string, holder: LeaseHolderIdentity, leaseMs: number): Promise<Lease> {
    if (!(leaseMs > 0) || leaseMs > MAX_LEASE_MS)
      throw new KreorgError('usage', `lease must be between 1ms and ${MAX_LEASE_MS / 3_600_000}h, got ${leaseMs}ms`)
    const existing = this.held.get(topic)
    // Re-entrant for the same attempt; a later attempt (higher epoch) claims anew so renewals carry its epoch.
    if (existing && existing.runId === holder.runId && existing.valid() && (holder.epoch === undefined || holder.epoch === existing.epoch))
      return existing
    let current = this.log.holderAt(topic, Date.now())
    if (current && current.runId !== holder.runId) {
      // Our tail may not have delivered a release another channel wrote a moment ago (it is read
      // asynchronously, a fetch behind on a busy broker): refuse only on a view that is current.
      await this.log.catchUp()
      current = this.log.holderAt(topic, Date.now())
    }
    if (current && current.runId !== holder.runId) throw leaseHeldError(topic, current)
    const outcome = await this.log.writeLease(topic, 'claim', holder, leaseMs)
    if (outcome.op === 'release') throw new KreorgError('unexpected', 'lease claim read back as a release')
    if (!outcome.granted)
      throw outcome.reason === 'stale-epoch' ? staleAttemptError(topic, holder.runId, outcome) : leaseHeldError(topic, outcome.holder)
    existing?.stop()
    const lease = new Lease(this, topic, holder, leaseMs, outcome.holder.acquiredAt, outcome.holder.expiresAt)
    this.held.set(topic, lease)
    return lease
  }

  /** The valid lease on a topic, whoever holds it (as of the last record read). */
  current(topic: string): LeaseInfo | undefined {
    const holder = this.log.holderAt(topic, Date.now())
    if (!holder) return undefined
    return {topic, runId: holder.runId, host: holder.host, pid: holder.pid, acquiredAt: holder.acquiredAt, expiresAt: holder.expiresAt}
  }

  /** The lease this channel holds on a topic, if any (valid or not). */
  heldFor(topic: string): Lease | undefined {
    return this.held.get(topic)
  }

  /** The lease a command must be published under: the given one or ours, held by the command's run and valid. */
  authorize(topic: string, options: CommandOptions, action: string): ControlLease {
    const lease = options.lease ?? this.held.get(topic)
    if (!lease || lease.topic !== topic || lease.runId !== options.runId) {
      throw new KreorgError('precondition', `cannot ${action} ${topic}: run ${options.runId} does not hold its lease`)
    }
    lease.assertValid()
    return lease
  }

  forget(lease: Lease): void {
    if (this.held.get(lease.topic) === lease) this.held.delete(lease.topic)
  }

  /** Stops every renewal without releasing (see Lease.stop). */
  stopAll(): void {
    for (const lease of this.held.values()) lease.stop()
    this.held.clear()
  }
}

/** The holder identity of this process for a run id. */
export function localHolder(runId: string): LeaseHolderIdentity {
  return {runId, host: hostname(), pid: process.pid}
}

/** What assertValid throws: the lease is no longer held, so nothing irreversible may follow. */
export function leaseLostError(topic: string, runId: string, reason: string, step?: string): KreorgError {
  return new KreorgError('precondition', `the lease on ${topic} for run ${runId} is no longer held (${reason}); agents may have resumed`, {
    ...(step ? {step} : {}),
    suggestions: ['run again: producers are paused and drained anew before partitions are added'],
  })
}
