import {confirm as inquirerConfirm} from '@inquirer/prompts'
import {
  type DefaultRenderer,
  Listr,
  ListrPromptAdapter,
  ListrTaskEventType,
  type ListrTaskWrapper,
  PRESET_TIMER,
  type SimpleRenderer,
} from 'listr2'

import type {RunEvent, RunListener} from '../runbook/types.js'
import type {RunRenderer} from './renderer.js'

import {maskSecrets} from '../core/redact.js'
import {describeError} from './error-text.js'
import {PlainRenderer} from './plain-renderer.js'
import {promptConfirm, renderDetails} from './prompt.js'
import {runSummaryLines} from './step-views.js'

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

/**
 * On a terminal: listr2, one task per step, progress as the task's output line. The engine's events
 * settle the tasks; what listr2 cannot show (events before or after the list) goes to the plain
 * renderer, and the run's last lines wait until listr2 has drawn its final frame.
 */
export class ListrRenderer implements RunRenderer {
  private readonly plain: PlainRenderer
  private readonly steps = new Map<string, Deferred>()
  private readonly wrappers = new Map<string, Wrapper>()
  private readonly warnings: string[] = []
  private running: Promise<void> | undefined
  private current: string | undefined
  private interruptedLines: string[] = []
  private pendingAfter: Array<() => void> = []
  private readonly prompted = new Set<string>()
  private readonly taskStarted = new Map<string, (task: Wrapper) => void>()

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    this.plain = new PlainRenderer(out)
  }

  private write(text: string): void {
    this.out.write(`${maskSecrets(text)}\n`)
  }

  readonly listener: RunListener = (event) => {
    switch (event.event) {
      case 'run:start': {
        this.start(event)
        return
      }
      case 'step:start': {
        this.current = event.step ?? undefined
        return
      }
      case 'step:progress': {
        this.withTask(event.step, (task) => (task.output = maskSecrets(event.message)), event)
        return
      }
      case 'step:skip': {
        const step = this.steps.get(event.step ?? '')
        if (!step) return this.plain.listener(event)
        step.skipMessage = `${event.step}: ${event.message}`
        step.resolve('skip')
        return
      }
      case 'step:done': {
        this.steps.get(event.step ?? '')?.resolve('done')
        const summary = runSummaryLines(event.result)
        if (summary) this.after(() => this.write(summary.join('\n')))
        return
      }
      case 'step:fail': {
        // listr2 prints the rejection under the task: the step's error, shown once and masked.
        this.steps.get(event.step ?? '')?.reject(new Error(describeError(event.error)))
        return
      }
      case 'warning': {
        if (this.running && event.step) {
          this.warnings.push(`warning (${event.step}): ${event.message}`)
          this.withTask(event.step, (task) => (task.output = maskSecrets(`warning: ${event.message}`)), event)
          return
        }
        return this.plain.listener(event)
      }
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
      case 'confirm': {
        // The prompt itself showed the question and the answer.
        if (this.prompted.has(event.question)) return
        this.plain.listener(event)
        return
      }
      case 'run:done':
      case 'run:fail':
      case 'run:aborted': {
        this.after(() => this.plain.listener(event))
        return
      }
      default: {
        this.plain.listener(event)
      }
    }
  }

  private withTask(step: string | null, apply: (task: Wrapper) => void, fallback: RunEvent): void {
    const task = step ? this.wrappers.get(step) : undefined
    if (task) apply(task)
    else this.plain.listener(fallback)
  }

  private after(print: () => void): void {
    if (this.running) this.pendingAfter.push(print)
    else print()
  }

  private start(event: Extract<RunEvent, {event: 'run:start'}>): void {
    this.write(`${event.resumed ? 'Resuming' : 'Starting'} ${event.runbook} run ${event.runId}: ${event.description}`)
    for (const step of event.steps) this.steps.set(step.id, deferred())
    const list = new Listr(
      event.steps.map((step) => ({
        title: `${step.title} [${step.id}]`,
        task: async (_ctx: unknown, task: Wrapper) => {
          this.wrappers.set(step.id, task)
          this.taskStarted.get(step.id)?.(task)
          const pending = this.steps.get(step.id)!
          const outcome = await pending.promise
          if (outcome === 'skip') task.skip(`${step.title} [${maskSecrets(pending.skipMessage ?? 'skipped')}]`)
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
      .then(() => {})
      .catch(() => {})
      .finally(() => {
        this.running = undefined
        for (const warning of this.warnings) this.write(warning)
        for (const line of this.interruptedLines) this.write(line)
        for (const print of this.pendingAfter.splice(0)) print()
      })
  }

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
