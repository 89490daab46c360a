import type {RunListener} from '../runbook/types.js'
import type {RunRenderer} from './renderer.js'

import {KreorgError} from '../core/errors.js'
import {ListrRenderer} from './listr-renderer.js'
import {NdjsonRenderer} from './ndjson-renderer.js'
import {PlainRenderer} from './plain-renderer.js'
import {isPromptCancel, promptConfirm} from './prompt.js'

/**
 * Turns the engine's event stream into output. The engine never prints; for runs, the renderer
 * chosen here is the only thing that does: NDJSON with --json, listr2 tasks on a terminal, plain
 * lines elsewhere (CI logs, pipes). It also owns the confirmation prompt, because a prompt has to
 * cooperate with listr2.
 */

export type RenderMode = 'json' | 'tty' | 'plain'

/** The output mode: --json wins, then whether stdout is a terminal. */
export function renderModeFor(json: boolean, out: {isTTY?: boolean} = process.stdout): RenderMode {
  if (json) return 'json'
  return out.isTTY ? 'tty' : 'plain'
}

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

function rendererFor(mode: RenderMode, out: NodeJS.WritableStream): RunRenderer {
  switch (mode) {
    case 'tty': {
      return new ListrRenderer(out)
    }
    case 'plain': {
      return new PlainRenderer(out)
    }
    case 'json': {
      return new NdjsonRenderer(out)
    }
  }
}

export function createRunUi(options: RunUiOptions): RunUi {
  const out = options.out ?? process.stdout
  const renderer = rendererFor(options.mode, out)
  return {
    listener: renderer.listener,
    async confirm(question, details) {
      if (options.yes) return true
      if (!options.interactive) {
        throw new KreorgError('usage', `confirmation needed but there is no terminal to ask: "${question}"`, {
          suggestions: ['pass --yes to confirm non-interactively'],
        })
      }
      try {
        return renderer.confirm ? await renderer.confirm(question, details) : await promptConfirm(question, details, out)
      } catch (error) {
        if (isPromptCancel(error)) {
          options.onPromptCancel?.()
          throw new KreorgError('interrupted', 'cancelled at the confirmation prompt', {cause: error})
        }
        throw error
      }
    },
    done: () => renderer.done(),
  }
}
