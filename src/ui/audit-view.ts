import type {AuditReport, Verdict} from '../audit/verdicts.js'
import {percent} from '../audit/verdicts.js'
import {renderTable} from './table.js'

const MARK: Record<Verdict, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL'}

/** The audit as text: one row per check with its reason, then the candidate counts. */
export function renderAudit(report: AuditReport): string {
  const lines: string[] = []
  lines.push(`Audit of ${report.topic}: ${report.partitionCount} partitions, ${report.sample.records} records sampled (last ≤${report.sample.perPartition} per partition)`)
  lines.push('')
  lines.push(renderTable(['', 'check', 'why'], report.checks.map((c) => [MARK[c.verdict], c.title, c.why])))
  if (report.candidates.length > 0) {
    lines.push('')
    lines.push(
      renderTable(
        ['to', 'keys moved', 'records moved', 'uniform estimate', 'skew (records)', 'skew (bytes)', ''],
        report.candidates.map((c) => [
          c.to,
          c.sampledKeys > 0 ? `${percent(c.movedShare)} (${c.movedKeys}/${c.sampledKeys})` : 'n/a',
          c.sampledKeys > 0 ? percent(c.movedRecordShare) : 'n/a',
          percent(c.uniformMovedShare),
          c.skew.records.toFixed(2),
          c.skew.bytes.toFixed(2),
          c.to === report.recommended ? '← recommended' : c.acceptable ? '' : 'skew too high',
        ]),
        {alignRight: [0, 3, 4, 5]},
      ),
    )
  }
  lines.push('')
  const {pass, warn, fail} = report.counts
  lines.push(`${MARK[report.verdict]}: ${pass} passed, ${warn} warned, ${fail} failed`)
  return lines.join('\n')
}

/** A one-line progress meter on stderr, only when stderr is a terminal. */
export function progressMeter(stream: NodeJS.WriteStream, label: string): {update: (done: number, total: number) => void; done: () => void} {
  if (!stream.isTTY) return {update: () => {}, done: () => {}}
  let last = 0
  let shown = false
  return {
    update(done, total) {
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      shown = true
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
      stream.write(`\r${label}: ${done}/${total} offsets (${pct}%)\x1b[K`)
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}
