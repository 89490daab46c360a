import {readFile} from 'node:fs/promises'

import {KreorgError} from '../../core/errors.js'

/**
 * `--replica-assignment FILE`: one line per new partition, comma-separated broker ids, leader first
 * (the same shape `kafka-topics --alter --replica-assignment` takes after the existing partitions).
 * Blank lines and `#` comments are ignored.
 */
export function parseReplicaAssignment(text: string, source = '--replica-assignment'): number[][] {
  const rows = text
    .split('\n')
    .map((line, index) => ({line: line.replace(/#.*/, '').trim(), number: index + 1}))
    .filter((row) => row.line !== '')
  if (rows.length === 0) throw new KreorgError('usage', `${source} is empty: expected one line of broker ids per new partition`)
  return rows.map(({line, number}) => {
    const ids = line
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number)
    if (ids.some((id) => !Number.isInteger(id) || id < 0)) {
      throw new KreorgError('usage', `${source} line ${number} ("${line}") is not a list of broker ids`, {
        suggestions: ['example line: 1,2,3'],
      })
    }
    if (new Set(ids).size !== ids.length) {
      throw new KreorgError('usage', `${source} line ${number} names a broker twice`)
    }
    return ids
  })
}

export async function readReplicaAssignment(path: string): Promise<number[][]> {
  return parseReplicaAssignment(await readFile(path, 'utf8'), path)
}
