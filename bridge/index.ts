// Public surface of the chat bridges (`codemesh bridge slack|matrix|webhook`).
export { type Bridge, type BridgeOptions, startBridge } from './bridge.ts';
export { type Command, type CommandResult, parseCommand } from './commands.ts';
export {
  type BridgeKind,
  type BridgeSettings,
  BridgeSettingsError,
  bridgeSettingsFromEnv,
  readUserMap,
} from './settings.ts';
export { type Sink, slackMessage, webhookSignature } from './sinks.ts';
export { slackSignature, verifySlackRequest } from './slack-signature.ts';
export { DEFAULT_UPDATE_TYPES, type Update, UPDATES, updateFor } from './updates.ts';
