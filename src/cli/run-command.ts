import {type Command, Flags} from '@oclif/core'

import type {ConnectionOptions} from '../kafka/types.js'
import type {Runbook} from '../runbook/types.js'

import {findRunbook} from '../../runbooks/index.js'
import {type ConnectionFlags, resolveConnection} from '../config/resolve.js'
import {DEFAULT_CONTROL_TOPIC} from '../control/schema.js'
import {ExitCode, KreorgError} from '../core/errors.js'
import {abortRun, type EngineOptions, type RecordedEnvironment, resumeRun, type RunOutcome, startRun} from '../runbook/engine.js'
import {defaultStateDir} from '../runbook/state-dir.js'
import {
  resolveStateDir,
  type RunStore,
  runStoreFor,
  STATE_MODES,
  type StateMode,
  stateModeOf,
  type StoredRunSummary,
} from '../runbook/store/index.js'
import {createRunUi, renderModeFor} from '../ui/run-renderer.js'
import {KafkaCommand} from './base-command.js'

/** `--state-dir`, shared by every command that reads or writes runs. */
export const stateDirFlag = Flags.string({
  description: 'where checkpoints and locks live [default: $XDG_STATE_HOME/kreorg, else ~/.local/state/kreorg]',
  env: 'KREORG_STATE_DIR',
  helpGroup: 'STATE',
})

/** `--state` and `--state-topic`: where runs live besides the local state dir (src/runbook/store). */
export const stateModeFlags = {
  state: Flags.string({
    description:
      'local: checkpoints only in --state-dir; kafka: also mirrored to --state-topic, so runs can be listed and resumed from another machine',
    options: [...STATE_MODES],
    env: 'KREORG_STATE',
    default: 'local',
    helpGroup: 'STATE',
  }),
  'state-topic': Flags.string({
    description: 'control topic that holds run state with --state kafka',
    env: 'KREORG_STATE_TOPIC',
    default: DEFAULT_CONTROL_TOPIC,
    helpGroup: 'STATE',
  }),
}

export interface StateModeFlags {
  state?: string
  'state-topic'?: string
}

export {resolveStateDir, stateModeOf} from '../runbook/store/index.js'

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

export interface ExecuteOptions {
  /** Dry runs: no lock, no checkpoint. */
  ephemeral?: boolean
  /** Stop successfully after this step. */
  stopAfter?: string
}

/**
 * Base class for commands that run a runbook (grow, resume, abort, ...). It handles `--json`,
 * `--yes` and `--state-dir` once: builds the renderer, the confirmation policy and the
 * SIGINT/SIGTERM wiring, runs the engine and turns its outcome into the documented exit code.
 */
export abstract class RunCommand<T extends typeof Command> extends KafkaCommand<T> {
  static override baseFlags = {
    ...KafkaCommand.baseFlags,
    'state-dir': stateDirFlag,
    ...stateModeFlags,
    yes: Flags.boolean({char: 'y', description: 'answer yes to every confirmation (required when not on a terminal)', helpGroup: 'OUTPUT'}),
  }

  protected get runFlags(): {'state-dir'?: string; yes: boolean} & StateModeFlags {
    return this.flags as unknown as {'state-dir'?: string; yes: boolean} & StateModeFlags
  }

  protected get sharedState(): {mode: StateMode; topic: string} {
    return stateModeOf(this.runFlags)
  }

  protected get stateDir(): string {
    return resolveStateDir(this.runFlags['state-dir'])
  }

  /** `--state-dir X` when the dir is not the one a plain `kreorg resume` would find. */
  private stateDirSuffix(): string {
    const dir = this.stateDir === defaultStateDir() ? '' : ` --state-dir ${shellQuote(this.stateDir)}`
    const {mode, topic} = this.sharedState
    if (mode !== 'kafka') return dir
    const state = process.env.KREORG_STATE === 'kafka' ? '' : ' --state kafka'
    const topicFlag = topic === (process.env.KREORG_STATE_TOPIC || DEFAULT_CONTROL_TOPIC) ? '' : ` --state-topic ${shellQuote(topic)}`
    return `${dir}${state}${topicFlag}`
  }

  protected resumeCommandFor(runId: string): string {
    return `${this.config.bin} resume ${runId}${this.stateDirSuffix()}`
  }

  protected abortCommandFor(runId: string): string {
    return `${this.config.bin} abort ${runId}${this.stateDirSuffix()}`
  }

  /**
   * Connection for a resumed run: flags/env/profile as usual; when they name no brokers, the brokers
   * the run started with (recorded in its checkpoint).
   */
  private connectionFor(recorded: RecordedEnvironment): ConnectionOptions {
    try {
      return this.connectionOptions()
    } catch (error) {
      if (!Array.isArray(recorded.brokers) || recorded.brokers.length === 0) throw error
      const flags = {...(this.flags as unknown as ConnectionFlags), brokers: recorded.brokers.join(',')}
      return resolveConnection(flags, process.env)
    }
  }

  /** Whether a confirmation can be asked: a terminal on both ends and no --json. */
  protected get interactive(): boolean {
    return !this.jsonMode && process.stdin.isTTY === true && process.stdout.isTTY === true
  }

  /**
   * Fails before anything starts (no lock, no lease, no checkpoint) when a run would need a
   * confirmation nobody can give.
   */
  protected requireConfirmation(what: string): void {
    if (this.runFlags.yes || this.interactive) return
    throw new KreorgError('usage', `${what} asks for confirmation, but there is no terminal to ask on`, {
      suggestions: ['pass --yes to confirm non-interactively (scripts, CI, --json)'],
    })
  }

  /** Wires UI, signals and engine around one engine call, then exits with the outcome's code. */
  private async drive(call: (options: EngineOptions) => Promise<RunOutcome>, connection: EngineOptions['connection']): Promise<RunOutcome> {
    const controller = new AbortController()
    const ui = createRunUi({
      mode: renderModeFor(this.jsonMode),
      yes: this.runFlags.yes,
      interactive: this.interactive,
      onPromptCancel: () => controller.abort(),
    })
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1
      if (signals === 1) {
        process.stderr.write(
          `\n${signal}: stopping; the checkpoint is saved before exit (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once)\n`,
        )
        controller.abort(new KreorgError('interrupted', `received ${signal}`))
        return
      }
      // Checkpoints are replaced atomically, so leaving now can't damage the last one.
      // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit -- a second Ctrl-C means leave now
      process.exit(ExitCode.INTERRUPTED)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const store = this.runStore
    let outcome: RunOutcome
    try {
      outcome = await call({
        store,
        stateDir: this.stateDir,
        listener: ui.listener,
        confirm: (question, details) => ui.confirm(question, details),
        connection,
        signal: controller.signal,
        resumeCommand: (runId) => this.resumeCommandFor(runId),
        abortCommand: (runId) => this.abortCommandFor(runId),
        findRunbook,
      })
    } finally {
      await store.close().catch(() => {})
      await ui.done()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (outcome.status === 'failed') {
      // Not thrown to catch(): with --json the run's own run:fail event carries the error, not an extra `error` event.
      this.printErrorLine(outcome.error)
      this.exit(outcome.error.exitCode)
    }
    if (outcome.status === 'interrupted') this.exit(ExitCode.INTERRUPTED)
    return outcome
  }

  /** Starts a new run of `runbook` with `inputs`. Returns only when the run is done. */
  protected async executeRun<I, S>(runbook: Runbook<I, S>, inputs: I, options: ExecuteOptions = {}): Promise<RunOutcome> {
    const connection = this.connectionOptions()
    return this.drive((engine) => startRun(runbook, inputs, {...engine, ...options}), connection)
  }

  protected async resumeRun(runId: string): Promise<RunOutcome> {
    await this.adoptSharedRun(runId)
    return this.drive(
      (engine) => resumeRun(runId, engine),
      (recorded) => this.connectionFor(recorded),
    )
  }

  protected async abortRun(runId: string): Promise<RunOutcome> {
    await this.adoptSharedRun(runId)
    return this.drive(
      (engine) => abortRun(runId, engine),
      (recorded) => this.connectionFor(recorded),
    )
  }

  private store: RunStore | undefined

  /** Where this command's runs live (--state-dir, --state, --state-topic); one per command, so Kafka is read once. */
  protected get runStore(): RunStore {
    this.store ??= runStoreFor(this.runFlags, (recorded) => this.connectionFor(recorded))
    return this.store
  }

  /** `--state kafka`: the newest copy of the run (local or Kafka) becomes the local working copy. */
  private async adoptSharedRun(runId: string): Promise<void> {
    const outcome = await this.runStore.checkout(runId)
    if (outcome?.from === 'kafka' && !this.jsonMode) {
      process.stderr.write(`Run ${runId} taken from control topic ${this.sharedState.topic} into ${outcome.file}\n`)
    }
  }

  /** The newest run (local, plus Kafka with --state kafka) that `accept` takes. */
  protected async latestRun(accept: (run: StoredRunSummary) => boolean): Promise<string> {
    return this.runStore.latest(accept)
  }
}
