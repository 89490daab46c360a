/**
 * The control protocol's public surface. `ControlChannelPort` is what callers should depend on;
 * `ControlChannel` is its Kafka implementation.
 */
export type {
  AgentInfo,
  AgentQueryOptions,
  CommandOptions,
  ControlChannelPort,
  ControlLease,
  ControlLogger,
  CurrentCommand,
  LeaseHolderIdentity,
  LeaseInfo,
  PinOptions,
  RefreshOptions,
  ResumeOptions,
  WaitForAcksOptions,
} from './port.js'
export {ControlChannel, type ControlChannelOptions} from './channel.js'
export {Lease, localHolder} from './lease.js'
export {ControlFeed, type ControlFeedOptions} from './feed.js'
export {MANUAL_RUN_PREFIX, manualPause, manualUnpause, type ManualPauseResult, type ManualUnpauseResult} from './manual.js'
export {controlSecret} from './secret.js'
export {
  checkControlTopicConfig,
  describeControlTopicProblem,
  judgeControlTopic,
  judgeHeartbeatTopic,
  type ControlTopicProblem,
} from './topic-config.js'
export * from './schema.js'
