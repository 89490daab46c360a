import type {AuditCheck} from '../types.js'

import {coPartitioningCheck} from './co-partitioning.js'
import {compactionCheck} from './compaction.js'
import {consumerGroupsCheck} from './consumer-groups.js'
import {idempotenceCheck} from './idempotence.js'
import {keyCardinalityCheck} from './key-cardinality.js'
import {keyMovementCheck} from './key-movement.js'
import {nullKeysCheck} from './null-keys.js'
import {partitionSkewCheck} from './partition-skew.js'
import {partitionerCheck} from './partitioner.js'
import {sampleCheck} from './sample.js'

/** Every audit check, in the order the report lists them. A new check is a module plus a line here. */
export const AUDIT_CHECKS: readonly AuditCheck[] = [
  sampleCheck,
  nullKeysCheck,
  keyCardinalityCheck,
  partitionSkewCheck,
  partitionerCheck,
  idempotenceCheck,
  consumerGroupsCheck,
  coPartitioningCheck,
  keyMovementCheck,
  compactionCheck,
]
