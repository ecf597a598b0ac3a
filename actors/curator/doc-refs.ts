// Documentation as a map from prose to code: the doc sections that best match an issue name the code they
// describe, through Sphinx cross-references (:meth:`QuerySet.union`, :class:`~django.db.models.Q`) and
// object directives (`.. method:: union(*other_qs)`, `.. autoclass:: sklearn.cluster.KMeans`). Those names,
// resolved to the files that define them, are the `docRef` signal.
import type { FileTable } from './signals.ts';
import type { RepoIndex } from './repo-index.ts';

const ROLE_RE =
  /:(?:py:)?(?:meth|func|class|attr|mod|exc|data|obj|djadmin|ttag|tfilter):`~?!?(?:[^`<]*<)?([\w.]+)(?:\(\))?>?`/g;
const DIRECTIVE_RE =
  /^[ \t]*\.\.[ \t]+(?:py:)?(?:class|method|function|attribute|module|currentmodule|exception|autoclass|automodule|autofunction|automethod|autoattribute|django-admin)::[ \t]+([\w.]+)/gm;
const MAX_REFS_PER_CHUNK = 40;
/** How many of the best-matching doc chunks speak for the query. */
const TOP_DOC_CHUNKS = 10;
const MAX_OWNERS = 3;

/** The dotted names one doc chunk refers to or documents, in order of appearance, without repeats. */
export function extractDocRefs(text: string): string[] {
  const out = new Set<string>();
  for (const re of [DIRECTIVE_RE, ROLE_RE]) {
    for (const m of text.matchAll(re)) {
      const name = m[1]!.replace(/^\.+|\.+$/g, '');
      if (name.length >= 3) out.add(name);
      if (out.size >= MAX_REFS_PER_CHUNK) return [...out];
    }
  }
  return [...out];
}

/** Files a documented name resolves to: its module, else its `Class.member`, else its last name. */
export function resolveDocRef(index: RepoIndex, ref: string): string[] {
  const parts = ref.split('.');
  for (let n = parts.length; n >= 1; n--) {
    const files = index.resolver.module(parts.slice(0, n).join('.'));
    if (files.length === 0 || files.length > MAX_OWNERS) continue;
    // The whole name is a module: that file, unless it is a package `__init__` (too broad to count).
    if (n === parts.length && !files.every((f) => /(^|\/)__init__\.pyi?$/.test(f))) return files;
    // A module followed by names inside it: the names decide, below.
    break;
  }
  if (parts.length >= 2) {
    const owners = index.defs.get(parts.slice(-2).join('.'));
    if (owners && owners.length <= MAX_OWNERS) return owners;
  }
  const owners = index.defs.get(parts[parts.length - 1]!);
  if (owners && owners.length <= MAX_OWNERS) return owners;
  const byName = index.byBasename.get(`${parts[parts.length - 1]}.py`);
  if (byName && byName.length <= MAX_OWNERS) return byName;
  return [];
}

/**
 * Per file, the evidence of the best doc chunks: each of the `TOP_DOC_CHUNKS` text chunks with the highest
 * BM25 gives its score (relative to the best of them), shared among the files its names resolve to.
 */
export function docRefScores(
  index: RepoIndex,
  table: FileTable,
  chunkDocs: number[],
  chunkLex: Float64Array,
): Map<number, number> {
  const best: number[] = [];
  for (let i = 0; i < chunkDocs.length; i++) {
    const f = table.chunkDocSlot[chunkDocs[i]!]!;
    if (f < 0 || !table.isText[f]) continue;
    let j = best.length;
    if (j === TOP_DOC_CHUNKS) {
      if (chunkLex[i]! <= chunkLex[best[j - 1]!]!) continue;
      j--;
    }
    while (j > 0 && chunkLex[i]! > chunkLex[best[j - 1]!]!) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = i;
  }
  const out = new Map<number, number>();
  if (best.length === 0) return out;
  const top = chunkLex[best[0]!]!;
  const resolved = new Map<string, string[]>();
  for (const i of best) {
    const d = chunkDocs[i]!;
    const f = table.chunkDocSlot[d]!;
    const refs = table.records[f]?.docRefs?.[table.chunkDocIndex[d]!];
    if (!refs || refs.length === 0) continue;
    const w = chunkLex[i]! / top / Math.sqrt(refs.length);
    for (const ref of refs) {
      let files = resolved.get(ref);
      if (!files) {
        files = resolveDocRef(index, ref);
        resolved.set(ref, files);
      }
      for (const p of files) {
        const s = table.slotOf.get(p);
        if (s !== undefined && !table.isText[s]) out.set(s, (out.get(s) ?? 0) + w / files.length);
      }
    }
  }
  return out;
}
