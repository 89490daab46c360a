import type {RunListener} from '../runbook/types.js'

/** How a run's events reach the user: one implementation per output mode (see run-renderer.ts). */
export interface RunRenderer {
  readonly listener: RunListener
  /**
   * Asks inside the renderer's own display (a listr2 task). Absent when the renderer draws nothing
   * a prompt could collide with; then a plain prompt is used.
   */
  confirm?(question: string, details: unknown): Promise<boolean>
  /** Resolves once everything is drawn. */
  done(): Promise<void>
}
