// Public surface of the blackboard: NATS KV state, the JetStream event log, the embedded nats-server.
export {
  consumeEvents,
  DEFAULT_REDELIVERY,
  type DeadLettered,
  type Delivery,
  deadLetter,
  decodeEvent,
  ensureDurable,
  type RedeliveryPolicy,
  ensureStreams,
  JetStreamEventBus,
} from './bus.ts';
export { getDeadLetter, listDeadLetters, type Redriven, redriveDeadLetter } from './dead-letters.ts';
export * from './errors.ts';
export { connectMesh, type MeshConnection } from './mesh.ts';
export { NatsKvBlackboard } from './nats-kv-blackboard.ts';
export { freePort, type NatsServerHandle, startNatsServer } from './server.ts';
export type * from './types.ts';
