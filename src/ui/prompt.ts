import {confirm as inquirerConfirm} from '@inquirer/prompts'

import {stepValueLines} from './step-views.js'

/** What a confirmation shows above its question: a step view (the grow plan), text, or nothing. */
export function renderDetails(details: unknown): string[] {
  const view = stepValueLines(details)
  if (view) return view
  if (typeof details === 'string') return [details]
  if (Array.isArray(details) && details.every((d) => typeof d === 'string')) return details as string[]
  return []
}

/** A plain inquirer yes/no prompt (default no). */
export async function promptConfirm(question: string, details: unknown, out: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  for (const line of renderDetails(details)) out.write(`${line}\n`)
  return inquirerConfirm({message: question, default: false})
}

/** Ctrl-C (or an abort) at an inquirer prompt. */
export function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')
}
