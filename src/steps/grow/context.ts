import type {KafkaCluster} from '../../kafka/types.js'
import type {StepContext} from '../../runbook/types.js'
import type {ControlPort, LeaseHandle} from './control-port.js'
import type {GrowInputs} from './inputs.js'
import type {GrowResults} from './results.js'

export type {AgentAck, AgentView, ControlPort, LeaseHandle} from './control-port.js'
export type {GrowInputs} from './inputs.js'
export type {
  AddPartitionsResult,
  DrainResult,
  GrowResults,
  GrowSummary,
  PauseResult,
  PinResult,
  PreflightResult,
  PrimeConsumersResult,
  QuiesceResult,
  ResumeResult,
  VerifyMappingResult,
  VerifyPartitionsResult,
} from './results.js'

export interface GrowServices {
  cluster: KafkaCluster
  control: ControlPort
  /**
   * This attempt's fencing epoch: every start or resume of the run uses a higher one, and agents
   * ignore commands with an epoch lower than one they saw from the same run.
   */
  epoch: number
  /** Held from preflight until post-check (or failure); re-acquired on resume. */
  lease?: LeaseHandle
}

/** What every grow step gets: typed inputs, the live services, and earlier steps' results by step id. */
export type GrowContext = StepContext<GrowInputs, GrowServices, GrowResults>
