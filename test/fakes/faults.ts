import kafkajs from 'kafkajs'

/**
 * Failures the fakes can be told to throw, and the errors to throw: kafkajs's own error classes (what
 * the client really throws when a node dies), so the code under test classifies them as it would in
 * production. Its type declarations omit some classes and their constructor shapes, hence the cast.
 */
type ErrorClass = new (...args: unknown[]) => Error
const {KafkaJSConnectionError, KafkaJSConnectionClosedError, KafkaJSProtocolError} = kafkajs as unknown as Record<
  'KafkaJSConnectionError' | 'KafkaJSConnectionClosedError' | 'KafkaJSProtocolError',
  ErrorClass
>

/** A broker or the controller going away mid-request (transient: the next attempt may succeed). */
export function connectionReset(message = 'Connection error: read ECONNRESET'): Error {
  return new KafkaJSConnectionError(message)
}

export function connectionClosed(message = 'Closed connection'): Error {
  return new KafkaJSConnectionClosedError(message)
}

/** A broker's error answer; `retriable: false` is one a retry would only repeat. */
export function protocolError(type: string, message: string, retriable = false): Error {
  return new KafkaJSProtocolError({type, code: -1, retriable, message})
}

export interface FaultOptions {
  /** How many calls in a row fail (default 1). */
  times?: number
  /** The call takes effect and only then fails: a request that landed but whose answer was lost. */
  landed?: boolean
}

interface Fault {
  error: () => unknown
  remaining: number
  landed: boolean
}

/** Per-method queues of injected failures, consumed one call at a time. */
export class FaultPlan<M extends string> {
  private readonly faults = new Map<M, Fault[]>()

  /** The next call(s) of `method` throw `error` (a fresh one per call when given a factory). */
  failNext(method: M, error: unknown | (() => unknown), options: FaultOptions = {}): void {
    const queue = this.faults.get(method) ?? []
    queue.push({
      error: typeof error === 'function' ? (error as () => unknown) : () => error,
      remaining: options.times ?? 1,
      landed: options.landed ?? false,
    })
    this.faults.set(method, queue)
  }

  /** Runs `work` unless a fault is due: then it throws (after `work`, for a fault that landed). */
  async apply<T>(method: M, work: () => Promise<T> | T): Promise<T> {
    const fault = this.faults.get(method)?.[0]
    if (!fault) return work()
    if (--fault.remaining <= 0) this.faults.get(method)!.shift()
    if (fault.landed) await work()
    throw fault.error()
  }

  pending(method: M): number {
    return (this.faults.get(method) ?? []).reduce((sum, fault) => sum + fault.remaining, 0)
  }
}
