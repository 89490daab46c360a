import {Command, Flags, type Interfaces} from '@oclif/core'

import type {ConnectionOptions, KafkaCluster} from '../kafka/types.js'

import {type ConnectionFlags, resolveConnection} from '../config/resolve.js'
import {describeCause, isKreorgError, KreorgError} from '../core/errors.js'
import {KafkajsCluster} from '../kafka/kafkajs-cluster.js'
import {errorLine, maskedError} from '../ui/error-text.js'
import {formatOutput, formatStreamed} from '../ui/output-format.js'
import {connectionFlags} from './config-flags.js'
import {type OutputFormat, outputFormatOf} from './output-flags.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * What every kreorg command shares: `--json`, error rendering with the documented exit codes, and
 * the exit-code table in `--help`. Commands stay thin: parse, call one function in src/, render.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'print machine-readable JSON (NDJSON events for long-running commands)', helpGroup: 'OUTPUT'}),
  }

  static override enableJsonFlag = false

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional argument, for commands that take a variable number (`strict = false`). */
  protected positionals: string[] = []
  private readonly cleanups: Array<() => Promise<void>> = []

  public override async init(): Promise<void> {
    await super.init()
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positionals = argv.map(String)
    // A contradictory `--json -o yaml` fails here, before any connection or output.
    void this.outputFormat
  }

  /** `--json`, or `-o json` on the read commands: stdout is JSON only, errors included. */
  protected get jsonMode(): boolean {
    const flags = this.flags as {json?: boolean; output?: string} | undefined
    return Boolean(flags?.json) || flags?.output === 'json'
  }

  /** `-o table|json|yaml` (read commands; `--json` is `-o json`), checked before anything runs. */
  protected get outputFormat(): OutputFormat {
    return outputFormatOf((this.flags ?? {}) as {json?: boolean; output?: string})
  }

  /** The read commands' one output path: `data` as JSON or YAML, or `table()` for people. */
  protected printOutput(data: unknown, table: () => string): void {
    process.stdout.write(`${formatOutput(this.outputFormat, data, table)}\n`)
  }

  /** One of several documents (`--watch`): NDJSON lines, `---`-separated YAML, or the table. */
  protected formatSnapshot(data: unknown, table: () => string): string {
    return formatStreamed(this.outputFormat, data, table)
  }

  /** One JSON document or NDJSON line on stdout. */
  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`)
  }

  /** Registers work for `finally` (closing Kafka connections, releasing locks), run even on errors. */
  protected onCleanup(cleanup: () => Promise<void>): void {
    this.cleanups.unshift(cleanup)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) await cleanup().catch(() => {})
    await super.finally(error)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own errors (parse errors exit 2, this.exit) already carry their exit code.
    // A flag value a custom parser rejected (e.g. --lease soon) is bad usage, whatever the parser threw.
    if (!isKreorgError(error) && (error.message ?? '').startsWith('Parsing --')) {
      return this.catch(new KreorgError('usage', error.message.replaceAll(/\s+/g, ' ').trim(), {cause: error}) as never)
    }
    if (error.oclif?.exit !== undefined && !isKreorgError(error)) return super.catch(error)
    const kreorgError = isKreorgError(error)
      ? error
      : new KreorgError('unexpected', describeCause(error), {
          cause: error,
          suggestions: ['rerun with DEBUG=kreorg for details; please report it with the output'],
        })
    if (process.env.DEBUG && !isKreorgError(error)) process.stderr.write(`${error.stack ?? ''}\n`)
    if (this.jsonMode) {
      this.printJson({
        event: 'error',
        code: kreorgError.code,
        exitCode: kreorgError.exitCode,
        step: kreorgError.step ?? null,
        ...maskedError(kreorgError),
      })
    }
    this.printErrorLine(kreorgError)
    return this.exit(kreorgError.exitCode)
  }

  /** The only place an error line reaches stderr (thrown errors and failed runs alike), always masked. */
  protected printErrorLine(error: KreorgError): void {
    process.stderr.write(`${errorLine(error)}\n`)
  }
}

/** Commands that talk to Kafka: connection flags, connect-on-demand, close on exit. */
export abstract class KafkaCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    // brokers, client id, timeout, --profile, TLS and SASL: resolved flags > env > profile in src/config.
    ...connectionFlags,
  }

  static override description = ''

  /** Connection settings from flags, environment and profile; validated before anything connects. */
  protected connectionOptions(): ConnectionOptions {
    return resolveConnection(this.flags as unknown as ConnectionFlags, process.env)
  }

  /** A connected cluster, closed when the command ends. */
  protected async connect(): Promise<KafkaCluster> {
    const cluster = new KafkajsCluster(this.connectionOptions())
    this.onCleanup(() => cluster.close())
    await cluster.connect()
    return cluster
  }
}

export {ExitCode, exitCodeHelp} from '../core/errors.js'
