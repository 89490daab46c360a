export {ControlChannel, type ControlChannelOptions} from './channel.js'
export {ControlFeed, type ControlFeedOptions} from './feed.js'
export {Lease, localHolder} from './lease.js'
export {MANUAL_RUN_PREFIX, manualPause, type ManualPauseResult, manualUnpause, type ManualUnpauseResult} from './manual.js'
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
export * from './schema.js'
export {controlSecret} from './secret.js'
export {
  checkControlTopicConfig,
  type ControlTopicProblem,
  describeControlTopicProblem,
  judgeControlTopic,
  judgeHeartbeatTopic,
} from './topic-config.js'
