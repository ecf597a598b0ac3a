// The embedded local model for air-gapped use: a GGUF file loaded in-process with node-llama-cpp (CPU only,
// prebuilt binaries, no model server), behind the same `ModelClient` interface as the OpenAI-compatible
// client. node-llama-cpp is an opt-in install (732 MB): it is imported on first use, and its absence is a
// `ModelConfigError` naming the install step. A JSON answer is constrained by a grammar built from the
// request's JSON Schema (plans, reviews), or by a generic JSON grammar.
import { newId } from '../../schemas/index.ts';
import { computeCostUsd } from './config.ts';
import { ModelAbortedError, ModelConfigError, ModelTimeoutError } from './errors.ts';
import { toGbnfJsonSchema } from './gbnf-schema.ts';
import type { ChatMessage, ChatRequest, ChatResult, ModelClient, ModelConfig, ModelTarget } from './types.ts';

/** The exact version codemesh is tested with (`/work/shared/STACK.md`). */
export const LOCAL_MODEL_PACKAGE = 'node-llama-cpp@3.21.1';
export const LOCAL_MODEL_INSTALL =
  'npm run setup -- --local-model (or: npm i -E --no-save node-llama-cpp@3.21.1)';
const DEFAULT_MAX_TOKENS = 2048;
const DEFAULT_CONTEXT = 8192;

// The part of node-llama-cpp's API used here, typed structurally: the package is not a dependency of the
// default install, so its own types cannot be imported.
interface LlamaGrammar {
  parse?(json: string): unknown;
}
interface LlamaSequence {
  readonly tokenMeter: { readonly usedInputTokens: number; readonly usedOutputTokens: number };
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(opts: { contextSize?: { max: number }; threads?: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(opts: { modelPath: string }): Promise<LlamaModel>;
  createGrammarForJsonSchema(schema: unknown): Promise<LlamaGrammar>;
  getGrammarFor(type: 'json'): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}
type HistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };
interface LlamaChatSession {
  setChatHistory(history: HistoryItem[]): void;
  promptWithMeta(
    text: string,
    opts: {
      grammar?: LlamaGrammar;
      maxTokens?: number;
      signal?: AbortSignal;
      stopOnAbortSignal?: boolean;
      temperature?: number;
      seed?: number;
    },
  ): Promise<{ responseText: string; stopReason: string }>;
  dispose(): void;
}
export interface LlamaModule {
  getLlama(opts: { gpu: false; build: 'never'; logLevel?: string }): Promise<Llama>;
  LlamaChatSession: new (opts: { contextSequence: LlamaSequence }) => LlamaChatSession;
}

/** How node-llama-cpp is imported (tests replace it to check the message when it is missing). */
export type LlamaImporter = () => Promise<LlamaModule>;

// A variable specifier: TypeScript and bundlers must not resolve a package the default install lacks.
const PACKAGE = 'node-llama-cpp';
const importLlama: LlamaImporter = () => import(/* @vite-ignore */ PACKAGE) as Promise<LlamaModule>;

interface Loaded {
  mod: LlamaModule;
  llama: Llama;
  model: LlamaModel;
  grammars: Map<string, Promise<LlamaGrammar>>;
  /** Calls on one model run one at a time (each in its own context), so memory stays bounded. */
  queue: Promise<unknown>;
}
/** One llama.cpp instance per importer (in practice one per process), and the models it loaded by path. */
interface Instance {
  llama?: Promise<{ mod: LlamaModule; llama: Llama }>;
  models: Map<string, Promise<Loaded>>;
}
const instances = new Map<LlamaImporter, Instance>();

/** Whether node-llama-cpp can be imported here (the opt-in install was done). */
export async function localModelAvailable(importer: LlamaImporter = importLlama): Promise<boolean> {
  try {
    await importer();
    return true;
  } catch {
    return false;
  }
}

async function loadLlama(importer: LlamaImporter): Promise<{ mod: LlamaModule; llama: Llama }> {
  let mod: LlamaModule;
  try {
    mod = await importer();
  } catch (err) {
    throw new ModelConfigError(
      `the local model provider needs ${LOCAL_MODEL_PACKAGE}, which the default install leaves out (732 MB): run ${LOCAL_MODEL_INSTALL}`,
      { cause: err },
    );
  }
  // CPU only and never a build: the prebuilt binaries work offline.
  const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  return { mod, llama };
}

function loadModel(path: string, importer: LlamaImporter): Promise<Loaded> {
  let inst = instances.get(importer);
  if (!inst) {
    inst = { models: new Map() };
    instances.set(importer, inst);
  }
  const i = inst;
  let p = i.models.get(path);
  if (!p) {
    p = (async () => {
      if (!i.llama) {
        i.llama = loadLlama(importer);
        i.llama.catch(() => {
          i.llama = undefined;
        });
      }
      const { mod, llama } = await i.llama;
      let model: LlamaModel;
      try {
        model = await llama.loadModel({ modelPath: path });
      } catch (err) {
        throw new ModelConfigError(
          `the local model ${path} did not load: ${String((err as Error).message).slice(0, 300)}`,
          { cause: err },
        );
      }
      return { mod, llama, model, grammars: new Map(), queue: Promise.resolve() };
    })();
    p.catch(() => i.models.delete(path));
    i.models.set(path, p);
  }
  return p;
}

/** Unloads every local model (tests; a process that is ending). */
export async function disposeLocalModels(): Promise<void> {
  const all = [...instances.values()];
  instances.clear();
  for (const i of all) {
    for (const p of i.models.values()) await (await p.catch(() => undefined))?.model.dispose();
    await (await i.llama?.catch(() => undefined))?.llama.dispose();
  }
}

/** OpenAI-shaped messages as node-llama-cpp's chat history, and the last user turn to prompt with. */
export function toChatHistory(messages: ChatMessage[]): { history: HistoryItem[]; prompt: string } {
  const history: HistoryItem[] = [];
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  if (system.length) history.push({ type: 'system', text: system.join('\n\n') });
  for (const m of messages) {
    if (m.role === 'user') history.push({ type: 'user', text: m.content });
    else if (m.role === 'tool')
      history.push({ type: 'user', text: `Result of ${m.tool_call_id}:\n${m.content}` });
    else if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []).map((c) => `${c.function.name}(${c.function.arguments})`);
      history.push({ type: 'model', response: [[m.content ?? '', ...calls].filter(Boolean).join('\n')] });
    }
  }
  const last = history.at(-1);
  if (last?.type === 'user') {
    history.pop();
    return { history, prompt: last.text };
  }
  return { history, prompt: 'Continue.' };
}

export interface LocalClientDeps {
  importer?: LlamaImporter;
  newCallId?: () => string;
}

/**
 * A model client on a local GGUF file (`cfg.local.path`).
 *
 * @example
 * const llm = createLocalModelClient({ ...cfg, local: { path: '/models/qwen2.5-coder-7b.Q4_K_M.gguf' } });
 * const res = await llm.chat({ role: 'planner', taskId, messages, responseFormat: 'json', jsonSchema });
 */
export function createLocalModelClient(cfg: ModelConfig, deps: LocalClientDeps = {}): ModelClient {
  const local = cfg.local;
  if (!local) throw new ModelConfigError('the local model provider needs a GGUF path');
  const importer = deps.importer ?? importLlama;
  const newCallId = deps.newCallId ?? (() => newId('llm'));
  const target: ModelTarget = {
    baseURL: `local:${local.path}`,
    model: cfg.model,
    priceInPer1k: cfg.priceInPer1k,
    priceOutPer1k: cfg.priceOutPer1k,
  };
  return {
    model: cfg.model,
    baseURL: target.baseURL,
    async target() {
      return target;
    },
    async chat(req: ChatRequest): Promise<ChatResult> {
      if (req.signal?.aborted) throw new ModelAbortedError('the model call was aborted');
      const m = await loadModel(local.path, importer);
      const run = m.queue.then(() => generate(m, cfg, req, newCallId));
      m.queue = run.catch(() => undefined);
      return run;
    },
  };
}

async function grammarFor(m: Loaded, req: ChatRequest): Promise<LlamaGrammar | undefined> {
  if (req.responseFormat !== 'json' && !req.jsonSchema) return undefined;
  const schema = req.jsonSchema ? toGbnfJsonSchema(req.jsonSchema) : undefined;
  const key = schema ? JSON.stringify(schema) : 'json';
  let g = m.grammars.get(key);
  if (!g) {
    g = schema ? m.llama.createGrammarForJsonSchema(schema) : m.llama.getGrammarFor('json');
    g.catch(() => m.grammars.delete(key));
    if (m.grammars.size > 32) m.grammars.clear();
    m.grammars.set(key, g);
  }
  return g;
}

async function generate(
  m: Loaded,
  cfg: ModelConfig,
  req: ChatRequest,
  newCallId: () => string,
): Promise<ChatResult> {
  const started = Date.now();
  const local = cfg.local!;
  const grammar = await grammarFor(m, req);
  // The environment's time limit per call holds here too (CODEMESH_LLM_TIMEOUT_MS): a CPU model can be slow.
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const timedOut = () => timeout.aborted && !req.signal?.aborted;
  const context = await m.model.createContext({
    contextSize: { max: local.contextSize ?? DEFAULT_CONTEXT },
    ...(local.threads ? { threads: local.threads } : {}),
  });
  try {
    const sequence = context.getSequence();
    const session = new m.mod.LlamaChatSession({ contextSequence: sequence });
    const { history, prompt } = toChatHistory(req.messages);
    session.setChatHistory(history);
    const res = await session.promptWithMeta(prompt, {
      ...(grammar ? { grammar } : {}),
      maxTokens: local.maxTokens ?? DEFAULT_MAX_TOKENS,
      signal,
      ...(local.temperature !== undefined ? { temperature: local.temperature } : {}),
      ...(local.seed !== undefined ? { seed: local.seed } : {}),
    });
    session.dispose();
    if (timedOut()) throw new ModelTimeoutError(`the local model did not answer within ${cfg.timeoutMs} ms`);
    if (req.signal?.aborted || res.stopReason === 'abort')
      throw new ModelAbortedError('the model call was aborted');
    const usage = {
      promptTokens: sequence.tokenMeter.usedInputTokens,
      completionTokens: sequence.tokenMeter.usedOutputTokens,
    };
    return {
      message: { role: 'assistant', content: res.responseText },
      usage,
      costUsd: computeCostUsd(usage, cfg),
      callId: newCallId(),
      model: cfg.model,
      latencyMs: Date.now() - started,
      finishReason: res.stopReason === 'maxTokens' ? 'length' : 'stop',
    };
  } catch (err) {
    if (timedOut() && !(err instanceof ModelTimeoutError))
      throw new ModelTimeoutError(`the local model did not answer within ${cfg.timeoutMs} ms`, {
        cause: err,
      });
    if (req.signal?.aborted && !(err instanceof ModelAbortedError))
      throw new ModelAbortedError('the model call was aborted', { cause: err });
    throw err;
  } finally {
    await context.dispose();
  }
}
