// A scripted, OpenAI-compatible model server for tests (loopback only).
export {
  byRole,
  type ChatBody,
  type RecordedCall,
  type Script,
  type ScriptedLlm,
  type ScriptedLlmOptions,
  type ScriptedReply,
  type ScriptRequest,
  startScriptedLlm,
} from './server.ts';
