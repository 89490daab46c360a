import type {RunListener} from '../runbook/types.js'
import type {RunRenderer} from './renderer.js'

import {formatDuration} from '../core/duration.js'
import {maskSecrets} from '../core/redact.js'
import {describeError} from './error-text.js'
import {stepValueLines} from './step-views.js'

function resultSummary(result: unknown): string {
  if (result === null || result === undefined) return ''
  const text = JSON.stringify(result)
  return text.length > 100 ? `${text.slice(0, 97)}...` : text
}

/**
 * Off a terminal (CI logs, pipes): one line per event. The TTY renderer falls back to it for events
 * that have no task to show them in.
 */
export class PlainRenderer implements RunRenderer {
  private total = 0
  private readonly index = new Map<string, number>()

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  private line(text: string): void {
    this.out.write(`${maskSecrets(text)}\n`)
  }

  private position(step: string | null): string {
    return `[${this.index.get(step ?? '') ?? '?'}/${this.total}]`
  }

  readonly listener: RunListener = (event) => {
    switch (event.event) {
      case 'run:start': {
        this.total = event.steps.length
        event.steps.forEach((s, i) => this.index.set(s.id, i + 1))
        this.line(`${event.resumed ? 'Resuming' : 'Starting'} ${event.runbook} run ${event.runId}: ${event.description}`)
        break
      }
      case 'step:start': {
        this.line(`${this.position(event.step)} ${event.step}: ${event.title}`)
        break
      }
      case 'step:progress': {
        this.line(`    ${event.message}`)
        break
      }
      case 'step:skip': {
        this.line(
          event.reason === 'checkpoint'
            ? `${this.position(event.step)} ${event.step}: ${event.message} (from the checkpoint)`
            : `    skipped: ${event.message}`,
        )
        break
      }
      case 'step:done': {
        const view = stepValueLines(event.result)
        const summary = view ? '' : resultSummary(event.result)
        this.line(`    done in ${formatDuration(event.durationMs)}${summary ? ` ${summary}` : ''}`)
        if (view) for (const line of view) this.line(`    ${line}`)
        break
      }
      case 'step:fail': {
        this.line(`    FAILED after ${formatDuration(event.durationMs)}: ${describeError(event.error)}`)
        break
      }
      case 'warning': {
        this.line(`${event.step ? '    ' : ''}warning: ${event.message}`)
        break
      }
      case 'confirm': {
        this.line(`${event.step ? '    ' : ''}${event.question} ${event.answer ? 'yes' : 'no'}`)
        break
      }
      case 'redo': {
        this.line(`${event.step}: ${event.message}`)
        break
      }
      case 'undo:start': {
        this.line(`undo ${event.step}: ${event.title}`)
        break
      }
      case 'undo:done': {
        this.line(`    undone in ${formatDuration(event.durationMs)}`)
        break
      }
      case 'undo:fail': {
        this.line(`    undo FAILED: ${describeError(event.error)}`)
        break
      }
      case 'run:done': {
        this.line(
          event.alreadyDone
            ? `Run ${event.runId} had already finished.`
            : `Run ${event.runId} done in ${formatDuration(event.durationMs)}.`,
        )
        break
      }
      case 'run:fail': {
        this.line(`Run ${event.runId} failed in step ${event.step}. Details: kreorg status ${event.runId}`)
        break
      }
      case 'run:interrupted': {
        this.line(`Interrupted${event.step ? ` during ${event.step}` : ''}; checkpoint saved. Resume with:`)
        this.line(`  ${event.resumeCommand}`)
        break
      }
      case 'run:aborted': {
        this.line(`Run ${event.runId} aborted${event.undone.length > 0 ? `; undone: ${event.undone.join(', ')}` : ''}.`)
        break
      }
    }
  }

  async done(): Promise<void> {}
}
