import {confirm as inquirerConfirm} from '@inquirer/prompts'
import {type DefaultRenderer, Listr, ListrPromptAdapter, ListrTaskEventType, type ListrTaskWrapper, PRESET_TIMER, type SimpleRenderer} from 'listr2'
import {formatDuration} from '../cli/duration.js'
import {maskSecrets} from '../config/redact.js'
import {KreorgError} from '../runbook/errors.js'
import {runSummaryLines, stepValueLines} from './step-views.js'
import type {ErrorInfo, RunEvent, RunListener} from '../runbook/types.js'

/**
 * Turns the engine's event stream into output: NDJSON with --json, listr2 tasks on a terminal,
 * plain lines elsewhere (CI logs, pipes). The engine never prints; this is the only place that does
 * for runs. It also owns the confirmation prompt, because a prompt has to cooperate with listr2.
 */

export type RenderMode = 'json' | 'tty' | 'plain'

export interface RunUiOptions {
  mode: RenderMode
  /** --yes: every confirmation is answered yes without asking. */
  yes: boolean
  /** Whether a human can answer a prompt (stdin and stdout are terminals, not --json). */
  interactive: boolean
  /** Called when the user cancels a prompt with Ctrl-C (raw mode swallows SIGINT). */
  onPromptCancel?: () => void
  out?: NodeJS.WritableStream
}

export interface RunUi {
  listener: RunListener
  confirm(question: string, details?: unknown): Promise<boolean>
  /** Waits until everything is drawn (listr2 finishes its last frame). */
  done(): Promise<void>
}

export function describeError(error: ErrorInfo): string {
  const cause = error.cause && !error.message.includes(error.cause) ? `: ${error.cause}` : ''
  return `${error.message}${cause}`
}

function renderDetails(details: unknown): string[] {
  const view = stepValueLines(details)
  if (view) return view
  if (typeof details === 'string') return [details]
  if (Array.isArray(details) && details.every((d) => typeof d === 'string')) return details as string[]
  return []
}

function resultSummary(result: unknown): string {
  if (result === null || result === undefined) return ''
  const text = JSON.stringify(result)
  return text.length > 100 ? `${text.slice(0, 97)}...` : text
}

/** Line-oriented output: one line per event, readable in a CI log. */
export class PlainRenderer {
  private total = 0
  private readonly index = new Map<string, number>()

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  private line(text: string): void {
    // Client errors can echo connection settings; every password and key kreorg read is masked.
    this.out.write(`${maskSecrets(text)}\n`)
  }

  readonly listener: RunListener = (event) => {
    switch (event.event) {
      case 'run:start':
        this.total = event.steps.length
        event.steps.forEach((s, i) => this.index.set(s.id, i + 1))
        this.line(`${event.resumed ? 'Resuming' : 'Starting'} ${event.runbook} run ${event.runId}: ${event.description}`)
        break
      case 'step:start':
        this.line(`[${this.index.get(event.step ?? '') ?? '?'}/${this.total}] ${event.step}: ${event.title}`)
        break
      case 'step:progress':
        this.line(`    ${event.message}`)
        break
      case 'step:skip':
        this.line(
          event.reason === 'checkpoint'
            ? `[${this.index.get(event.step ?? '') ?? '?'}/${this.total}] ${event.step}: ${event.message} (from the checkpoint)`
            : `    skipped: ${event.message}`,
        )
        break
      case 'step:done': {
        const view = stepValueLines(event.result)
        const summary = view ? '' : resultSummary(event.result)
        this.line(`    done in ${formatDuration(event.durationMs)}${summary ? ` ${summary}` : ''}`)
        if (view) for (const line of view) this.line(`    ${line}`)
        break
      }
      case 'step:fail':
        this.line(`    FAILED after ${formatDuration(event.durationMs)}: ${describeError(event.error)}`)
        break
      case 'warning':
        this.line(`${event.step ? '    ' : ''}warning: ${event.message}`)
        break
      case 'confirm':
        this.line(`${event.step ? '    ' : ''}${event.question} ${event.answer ? 'yes' : 'no'}`)
        break
      case 'redo':
        this.line(`${event.step}: ${event.message}`)
        break
      case 'undo:start':
        this.line(`undo ${event.step}: ${event.title}`)
        break
      case 'undo:done':
        this.line(`    undone in ${formatDuration(event.durationMs)}`)
        break
      case 'undo:fail':
        this.line(`    undo FAILED: ${describeError(event.error)}`)
        break
      case 'run:done':
        this.line(event.alreadyDone ? `Run ${event.runId} had already finished.` : `Run ${event.runId} done in ${formatDuration(event.durationMs)}.`)
        break
      case 'run:fail':
        this.line(`Run ${event.runId} failed in step ${event.step}. Details: kreorg status ${event.runId}`)
        break
      case 'run:interrupted':
        this.line(`Interrupted${event.step ? ` during ${event.step}` : ''}; checkpoint saved. Resume with:`)
        this.line(`  ${event.resumeCommand}`)
        break
      case 'run:aborted':
        this.line(`Run ${event.runId} aborted${event.undone.length > 0 ? `; undone: ${event.undone.join(', ')}` : ''}.`)
        break
    }
  }
}

interface Deferred {
  promise: Promise<'done' | 'skip'>
  resolve(value: 'done' | 'skip'): void
  reject(error: Error): void
  skipMessage?: string
}

function deferred(): Deferred {
  let resolve!: (value: 'done' | 'skip') => void
  let reject!: (error: Error) => void
  const promise = new Promise<'done' | 'skip'>((res, rej) => {
    resolve = res
    reject = rej
  })
  // The task awaiting it may never start (an earlier step failed): don't report that as unhandled.
  promise.catch(() => {})
  return {promise, resolve, reject}
}

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>

/** A yes/no prompt drawn through the running listr2 task, so the spinner frames don't overwrite it. */
class InquirerConfirmAdapter extends ListrPromptAdapter {
  run<T>(message: string): Promise<T> {
    return this.ask(message) as Promise<T>
  }

  async ask(message: string): Promise<boolean> {
    this.reportStarted()
    try {
      const wrapper = this.wrapper as unknown as {stdout(type?: ListrTaskEventType): NodeJS.WritableStream}
      const answer = await inquirerConfirm({message, default: false}, {output: wrapper.stdout(ListrTaskEventType.PROMPT)})
      this.reportCompleted()
      return answer
    } catch (error) {
      this.reportFailed()
      throw error
    }
  }
}

/** listr2 on a terminal: one task per step, progress as the task's output line. */
export class ListrRenderer {
  private readonly plain: PlainRenderer
  private readonly steps = new Map<string, Deferred>()
  private readonly wrappers = new Map<string, Wrapper>()
  private readonly warnings: string[] = []
  private running: Promise<void> | undefined
  private current: string | undefined
  private interruptedLines: string[] = []

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    this.plain = new PlainRenderer(out)
  }

  readonly listener: RunListener = (event) => {
    switch (event.event) {
      case 'run:start':
        this.start(event)
        return
      case 'step:start':
        this.current = event.step ?? undefined
        return
      case 'step:progress':
        this.withTask(event.step, (task) => (task.output = event.message), event)
        return
      case 'step:skip': {
        const step = this.steps.get(event.step ?? '')
        if (!step) return this.plain.listener(event)
        step.skipMessage = event.reason === 'checkpoint' ? `${event.step}: ${event.message}` : `${event.step}: ${event.message}`
        step.resolve('skip')
        return
      }
      case 'step:done': {
        this.steps.get(event.step ?? '')?.resolve('done')
        const summary = runSummaryLines(event.result)
        if (summary) this.after(() => this.out.write(`${summary.join('\n')}\n`))
        return
      }
      case 'step:fail':
        this.steps.get(event.step ?? '')?.reject(new Error(describeError(event.error)))
        return
      case 'warning':
        if (this.running && event.step) {
          this.warnings.push(`warning (${event.step}): ${event.message}`)
          this.withTask(event.step, (task) => (task.output = `warning: ${event.message}`), event)
          return
        }
        return this.plain.listener(event)
      case 'run:interrupted': {
        const step = event.step ? this.steps.get(event.step) : undefined
        const error = new Error('interrupted')
        if (step) step.reject(error)
        else for (const pending of this.steps.values()) pending.reject(error)
        this.interruptedLines = [
          `Interrupted${event.step ? ` during ${event.step}` : ''}; checkpoint saved. Resume with:`,
          `  ${event.resumeCommand}`,
        ]
        return
      }
      case 'confirm':
        // The prompt itself showed the question and the answer.
        if (this.prompted.has(event.question)) return
        this.plain.listener(event)
        return
      case 'run:done':
      case 'run:fail':
      case 'run:aborted':
        this.after(() => this.plain.listener(event))
        return
      default:
        this.plain.listener(event)
    }
  }

  private withTask(step: string | null, apply: (task: Wrapper) => void, fallback: RunEvent): void {
    const task = step ? this.wrappers.get(step) : undefined
    if (task) apply(task)
    else this.plain.listener(fallback)
  }

  private pendingAfter: Array<() => void> = []

  private after(print: () => void): void {
    if (this.running) this.pendingAfter.push(print)
    else print()
  }

  private start(event: Extract<RunEvent, {event: 'run:start'}>): void {
    this.out.write(`${event.resumed ? 'Resuming' : 'Starting'} ${event.runbook} run ${event.runId}: ${event.description}\n`)
    for (const step of event.steps) this.steps.set(step.id, deferred())
    const list = new Listr(
      event.steps.map((step) => ({
        title: `${step.title} [${step.id}]`,
        task: async (_ctx: unknown, task: Wrapper) => {
          this.wrappers.set(step.id, task)
          this.taskStarted.get(step.id)?.(task)
          const pending = this.steps.get(step.id)!
          const outcome = await pending.promise
          if (outcome === 'skip') task.skip(`${step.title} [${pending.skipMessage ?? 'skipped'}]`)
        },
      })),
      {
        concurrent: false,
        exitOnError: true,
        rendererOptions: {collapseSubtasks: false, showErrorMessage: true, timer: PRESET_TIMER},
      },
    )
    this.running = list
      .run()
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined
        for (const warning of this.warnings) this.out.write(`${warning}\n`)
        for (const line of this.interruptedLines) this.out.write(`${line}\n`)
        for (const print of this.pendingAfter.splice(0)) print()
      })
  }

  private readonly prompted = new Set<string>()
  private readonly taskStarted = new Map<string, (task: Wrapper) => void>()

  async confirm(question: string, details: unknown): Promise<boolean> {
    this.prompted.add(question)
    const current = this.current
    let task = current ? this.wrappers.get(current) : undefined
    if (!task && current && this.running && this.steps.has(current)) {
      // The engine announced the step but listr2 hasn't started its task yet: wait for it, so the
      // prompt is drawn inside the task instead of being overwritten by the next frame.
      task = await new Promise<Wrapper>((resolve) => this.taskStarted.set(current, resolve))
    }
    if (!task || !this.running) return promptConfirm(question, details, this.out)
    const lines = renderDetails(details)
    if (lines.length > 0) task.output = lines.join('\n')
    return new InquirerConfirmAdapter((task as unknown as {task: never}).task, task).ask(question)
  }

  async done(): Promise<void> {
    // Settle any task still waiting (e.g. the engine threw before announcing the end).
    for (const pending of this.steps.values()) pending.reject(new Error('stopped'))
    await this.running
  }
}

/** A plain inquirer yes/no prompt (default no). */
export async function promptConfirm(question: string, details: unknown, out: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  for (const line of renderDetails(details)) out.write(`${line}\n`)
  return inquirerConfirm({message: question, default: false})
}

function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')
}

export function createRunUi(options: RunUiOptions): RunUi {
  const out = options.out ?? process.stdout
  const listr = options.mode === 'tty' ? new ListrRenderer(out) : undefined
  const plain = options.mode === 'plain' ? new PlainRenderer(out) : undefined
  const listener: RunListener =
    listr?.listener ?? plain?.listener ?? ((event: RunEvent) => void out.write(`${maskSecrets(JSON.stringify(event))}\n`))
  return {
    listener,
    async confirm(question, details) {
      if (options.yes) return true
      if (!options.interactive) {
        throw new KreorgError('usage', `confirmation needed but there is no terminal to ask: "${question}"`, {
          suggestions: ['pass --yes to confirm non-interactively'],
        })
      }
      try {
        return listr ? await listr.confirm(question, details) : await promptConfirm(question, details, out)
      } catch (error) {
        if (isPromptCancel(error)) {
          options.onPromptCancel?.()
          throw new KreorgError('interrupted', 'cancelled at the confirmation prompt', {cause: error})
        }
        throw error
      }
    },
    async done() {
      await listr?.done()
    },
  }
}
