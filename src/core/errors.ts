/**
 * The one place kreorg's exit codes live. Commands, `--help` and the README all read this table,
 * so a scripted maintenance window can rely on the numbers.
 */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  PRECONDITION: 3,
  TIMEOUT: 4,
  DECLINED: 5,
  LEASE_HELD: 6,
  INCOMPLETE: 7,
  INTERRUPTED: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_TABLE: ReadonlyArray<readonly [ExitCodeValue, string]> = [
  [ExitCode.OK, 'done (or dry-run plan printed)'],
  [ExitCode.UNEXPECTED, 'unexpected error'],
  [ExitCode.USAGE, 'bad usage or input: flags, broker addresses, credentials, checkpoints, state dir'],
  [
    ExitCode.PRECONDITION,
    'precondition not met: topic missing, --to not above current, a group that cannot drain, unknown writers, missing permissions',
  ],
  [ExitCode.TIMEOUT, 'timed out waiting for producer acks; nothing changed (in grow: before add-partitions, the pin is lifted)'],
  [ExitCode.DECLINED, 'declined at the confirmation prompt'],
  [ExitCode.LEASE_HELD, "another run holds the topic's lease or lock"],
  [
    ExitCode.INCOMPLETE,
    'partitions were added but the run did not finish: producers are paused or pinned to the old count; run `kreorg resume <run-id>`',
  ],
  [ExitCode.INTERRUPTED, 'interrupted; resumable with `kreorg resume <run-id>`'],
]

/** Rendered into every command's `--help` (see src/cli/base-command.ts). */
export function exitCodeHelp(): string {
  return ['EXIT CODES', ...EXIT_CODE_TABLE.map(([code, meaning]) => `  ${String(code).padEnd(4)}${meaning}`)].join('\n')
}

export type KreorgErrorCode =
  | 'usage'
  | 'connect'
  | 'auth'
  | 'topic-missing'
  | 'precondition'
  | 'unknown-writers'
  | 'timeout'
  | 'declined'
  | 'lease-held'
  | 'lock-held'
  | 'interrupted'
  | 'incomplete'
  | 'checkpoint'
  | 'state-dir'
  | 'unexpected'

const EXIT_BY_CODE: Record<KreorgErrorCode, ExitCodeValue> = {
  usage: ExitCode.USAGE,
  connect: ExitCode.USAGE,
  auth: ExitCode.USAGE,
  'topic-missing': ExitCode.PRECONDITION,
  precondition: ExitCode.PRECONDITION,
  'unknown-writers': ExitCode.PRECONDITION,
  timeout: ExitCode.TIMEOUT,
  declined: ExitCode.DECLINED,
  'lease-held': ExitCode.LEASE_HELD,
  'lock-held': ExitCode.LEASE_HELD,
  interrupted: ExitCode.INTERRUPTED,
  incomplete: ExitCode.INCOMPLETE,
  checkpoint: ExitCode.USAGE,
  'state-dir': ExitCode.USAGE,
  unexpected: ExitCode.UNEXPECTED,
}

export interface KreorgErrorOptions {
  /** The runbook step that failed, when there is one. */
  step?: string
  /** What to run or change next; printed under the message. */
  suggestions?: string[]
  cause?: unknown
}

/**
 * Every failure kreorg expects is one of these: a one-line message that names what was wrong,
 * the exit code from the table above, the step (if any) and the underlying cause.
 */
export class KreorgError extends Error {
  readonly code: KreorgErrorCode
  readonly step: string | undefined
  readonly suggestions: string[]

  constructor(code: KreorgErrorCode, message: string, options: KreorgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'KreorgError'
    this.code = code
    this.step = options.step
    this.suggestions = options.suggestions ?? []
  }

  get exitCode(): ExitCodeValue {
    return EXIT_BY_CODE[this.code]
  }

  /** The same error attributed to a runbook step (the engine calls this). */
  inStep(step: string): KreorgError {
    if (this.step !== undefined) return this
    const copy = new KreorgError(this.code, this.message, {step, suggestions: this.suggestions, cause: this.cause})
    copy.stack = this.stack
    return copy
  }
}

export function isKreorgError(error: unknown): error is KreorgError {
  return error instanceof KreorgError
}

/** A short, secret-free description of an unknown thrown value, for messages and checkpoints. */
export function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const base = error.message || error.name
    const nested = (error as {cause?: unknown}).cause
    return nested instanceof Error && nested.message && !base.includes(nested.message) ? `${base}: ${nested.message}` : base
  }
  return String(error)
}
