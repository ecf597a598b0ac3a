// Test helper: writes a tiny GGUF model file (llama architecture, random F32 weights, a SentencePiece-style
// vocabulary of the ASCII byte tokens and the printable ASCII characters), small enough to load and generate
// with in a unit test. Follows ggml's docs/gguf.md (version 3): header, key/value metadata, tensor infos,
// padding to `general.alignment`, then the tensors' data, each at an aligned offset. Little-endian.
import { writeFileSync } from 'node:fs';
import { seededRandom as rng } from './seeded-random.ts';

const ALIGNMENT = 32;
/** gguf_metadata_value_type */
const T = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
/** ggml_type */
const GGML_F32 = 0;

type Meta =
  | { t: 'u32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'string'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'strings'; v: string[] }
  | { t: 'f32s'; v: number[] }
  | { t: 'i32s'; v: number[] };

class Out {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  i32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.push(b);
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  f32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const n = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    if (n) this.push(Buffer.alloc(n));
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeMeta(o: Out, key: string, m: Meta): void {
  o.str(key);
  switch (m.t) {
    case 'u32':
      o.u32(T.u32);
      o.u32(m.v);
      break;
    case 'f32':
      o.u32(T.f32);
      o.f32(m.v);
      break;
    case 'bool':
      o.u32(T.bool);
      o.push(Buffer.from([m.v ? 1 : 0]));
      break;
    case 'string':
      o.u32(T.string);
      o.str(m.v);
      break;
    case 'strings':
      o.u32(T.array);
      o.u32(T.string);
      o.u64(m.v.length);
      for (const s of m.v) o.str(s);
      break;
    case 'f32s':
      o.u32(T.array);
      o.u32(T.f32);
      o.u64(m.v.length);
      for (const x of m.v) o.f32(x);
      break;
    case 'i32s':
      o.u32(T.array);
      o.u32(T.i32);
      o.u64(m.v.length);
      for (const x of m.v) o.i32(x);
      break;
  }
}

export interface TinyGgufOptions {
  embd?: number;
  heads?: number;
  layers?: number;
  ff?: number;
  context?: number;
  seed?: number;
}

/**
 * The vocabulary: `<unk>`, `<s>`, `</s>`, the byte tokens `<0x00>`..`<0x7F>` (byte fallback), then every
 * printable ASCII character as its own token (`▁` for the space, as SentencePiece spells it).
 */
export function tinyVocab(): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // unknown, control, control
  // Only the ASCII bytes: a byte token above 0x7f could be sampled alone, an invalid UTF-8 sequence that the
  // grammar and JavaScript would count differently. Tokenizing non-ASCII text is not needed by the tests.
  for (let b = 0; b < 128; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6); // byte
  }
  for (let c = 0x20; c < 0x7f; c++) {
    tokens.push(c === 0x20 ? '\u2581' : String.fromCharCode(c));
    types.push(1); // normal
  }
  return { tokens, types, scores: tokens.map((_, i) => -i) };
}

/**
 * Writes the model to `path` and returns its size in bytes.
 *
 * @example
 * writeTinyGguf(join(dir, 'tiny.gguf'), { seed: 7 });
 */
export function writeTinyGguf(path: string, opts: TinyGgufOptions = {}): number {
  const embd = opts.embd ?? 64;
  const heads = opts.heads ?? 4;
  const layers = opts.layers ?? 2;
  const ff = opts.ff ?? 128;
  const context = opts.context ?? 4096;
  const random = rng(opts.seed ?? 1);
  const vocab = tinyVocab();
  const nVocab = vocab.tokens.length;

  const meta: Array<[string, Meta]> = [
    ['general.architecture', { t: 'string', v: 'llama' }],
    ['general.name', { t: 'string', v: 'codemesh-tiny-test' }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: context }],
    ['llama.embedding_length', { t: 'u32', v: embd }],
    ['llama.block_count', { t: 'u32', v: layers }],
    ['llama.feed_forward_length', { t: 'u32', v: ff }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: heads }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['llama.rope.dimension_count', { t: 'u32', v: embd / heads }],
    ['llama.vocab_size', { t: 'u32', v: nVocab }],
    ['tokenizer.ggml.model', { t: 'string', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'strings', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32s', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32s', v: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 2 }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
  ];

  // ggml's dimension order: ne[0] is the innermost (row length).
  const tensors: Array<{ name: string; dims: number[]; init: 'ones' | 'random' }> = [
    { name: 'token_embd.weight', dims: [embd, nVocab], init: 'random' },
    { name: 'output_norm.weight', dims: [embd], init: 'ones' },
    { name: 'output.weight', dims: [embd, nVocab], init: 'random' },
  ];
  for (let i = 0; i < layers; i++) {
    tensors.push(
      { name: `blk.${i}.attn_norm.weight`, dims: [embd], init: 'ones' },
      { name: `blk.${i}.attn_q.weight`, dims: [embd, embd], init: 'random' },
      { name: `blk.${i}.attn_k.weight`, dims: [embd, embd], init: 'random' },
      { name: `blk.${i}.attn_v.weight`, dims: [embd, embd], init: 'random' },
      { name: `blk.${i}.attn_output.weight`, dims: [embd, embd], init: 'random' },
      { name: `blk.${i}.ffn_norm.weight`, dims: [embd], init: 'ones' },
      { name: `blk.${i}.ffn_gate.weight`, dims: [embd, ff], init: 'random' },
      { name: `blk.${i}.ffn_up.weight`, dims: [embd, ff], init: 'random' },
      { name: `blk.${i}.ffn_down.weight`, dims: [ff, embd], init: 'random' },
    );
  }

  const o = new Out();
  o.push(Buffer.from('GGUF', 'ascii'));
  o.u32(3);
  o.u64(tensors.length);
  o.u64(meta.length);
  for (const [k, m] of meta) writeMeta(o, k, m);
  const data: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    o.str(t.name);
    o.u32(t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(GGML_F32);
    o.u64(offset);
    const n = t.dims.reduce((a, b) => a * b, 1);
    const b = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) b.writeFloatLE(t.init === 'ones' ? 1 : (random() - 0.5) * 0.2, i * 4);
    const padded = Math.ceil(b.length / ALIGNMENT) * ALIGNMENT;
    data.push(b, Buffer.alloc(padded - b.length));
    offset += padded;
  }
  o.pad();
  for (const b of data) o.push(b);
  const out = o.buffer();
  writeFileSync(path, out);
  return out.length;
}
