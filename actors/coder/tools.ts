// The Coder's read-only tools over its worktree: read_file, list_files, grep (and search, with a Curator).
// The worktree holds committed symlinks, so every path is confined by where it really leads (realpath), not
// by how it is spelled: a link may point anywhere inside the repository, never out of it or into .git.
import { open, readdir, realpath } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { z } from 'zod';
import type { ToolSpec } from '../llm/index.ts';
import { git } from '../runtime/git.ts';
import type { RetrievedSnippet } from '../runtime/types.ts';

export const toolSpecs: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'Read a file of the repository (optionally a line range, 1-based, inclusive).',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        startLine: { type: 'integer' },
        endLine: { type: 'integer' },
      },
      required: ['path'],
    },
  },
  {
    name: 'list_files',
    description: 'List files under a directory of the repository (default: the root), recursively, max 400.',
    parameters: { type: 'object', properties: { dir: { type: 'string' } } },
  },
  {
    name: 'search_code',
    description:
      'Code-aware search (the Curator: AST chunks, symbols, BM25, import graph): the most relevant functions and classes for a free-text query, with path and lines.',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
  {
    name: 'grep',
    description: 'Search the repository for a regular expression; returns path:line:text matches (max 100).',
    parameters: { type: 'object', properties: { pattern: { type: 'string' } }, required: ['pattern'] },
  },
];

const ReadArgs = z.object({
  path: z.string().min(1),
  startLine: z.number().int().min(1).optional(),
  endLine: z.number().int().min(1).optional(),
});
const ListArgs = z.object({ dir: z.string().optional() });
const GrepArgs = z.object({ pattern: z.string().min(1).max(500) });
const SearchArgs = z.object({ query: z.string().min(1).max(5000) });

/** Code-aware search over the task's repository at its base commit, if a Curator is reachable. */
export type SearchFn = (query: string, signal?: AbortSignal) => Promise<RetrievedSnippet[]>;

/** Resolves a model-given path inside root, or throws with a message meant for the model. */
export function insideRoot(root: string, p: string): string {
  const abs = normalize(join(root, p));
  const rel = relative(root, abs);
  if (rel.startsWith('..') || rel.split(sep)[0] === '.git')
    throw new Error(`path ${p} is outside the repository`);
  return abs;
}

/** `real` lies inside `realRoot` and outside its .git (both already resolved by realpath). */
function confined(realRoot: string, real: string): boolean {
  const rel = relative(realRoot, real);
  if (rel === '') return true;
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return false;
  return rel.split(sep)[0] !== '.git';
}

/** The real path a model-given path leads to, if it stays inside the repository; else an error for the model. */
async function realInside(root: string, p: string): Promise<{ realRoot: string; real: string }> {
  const abs = insideRoot(root, p);
  const realRoot = await realpath(root);
  const real = await realpath(abs).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `${p} does not exist` : `${p} cannot be read (${err.code})`);
  });
  if (!confined(realRoot, real)) throw new Error(`path ${p} is outside the repository`);
  return { realRoot, real };
}

/** Runs one tool call; errors come back as text for the model, never as exceptions. */
export async function runTool(
  root: string,
  name: string,
  rawArgs: string,
  signal?: AbortSignal,
  search?: SearchFn,
): Promise<string> {
  let args: unknown;
  try {
    args = JSON.parse(rawArgs || '{}');
  } catch {
    return `error: the arguments of ${name} are not valid JSON`;
  }
  try {
    switch (name) {
      case 'read_file': {
        const a = ReadArgs.parse(args);
        const { real } = await realInside(root, a.path);
        // O_NOFOLLOW: the resolved path has no link left in it; if one appears now, refuse rather than follow.
        const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        let text: string;
        try {
          const st = await fh.stat();
          if (!st.isFile()) return `error: ${a.path} is not a regular file`;
          if (st.size > 1_000_000) return `error: ${a.path} is larger than 1 MB; read a line range`;
          text = await fh.readFile('utf8');
        } finally {
          await fh.close();
        }
        const lines = text.split('\n');
        const from = a.startLine ?? 1;
        const to = Math.min(a.endLine ?? lines.length, lines.length);
        return lines
          .slice(from - 1, to)
          .map((l, i) => `${from + i}: ${l}`)
          .join('\n');
      }
      case 'list_files': {
        const a = ListArgs.parse(args);
        const { realRoot, real: base } = await realInside(root, a.dir ?? '.');
        const out: string[] = [];
        const walk = async (dir: string) => {
          for (const e of await readdir(dir, { withFileTypes: true })) {
            if (out.length >= 400) return;
            if (e.name === '.git' || e.name === 'node_modules' || e.name.startsWith('.codemesh')) continue;
            const p = join(dir, e.name);
            if (e.isDirectory()) await walk(p);
            else if (!e.isSymbolicLink()) out.push(relative(realRoot, p));
            // A link is listed (not descended: its target is listed where it lives) only if it stays inside.
            else if (confined(realRoot, await realpath(p).catch(() => '/'))) out.push(relative(realRoot, p));
          }
        };
        await walk(base);
        return out.join('\n') || '(no files)';
      }
      case 'search_code': {
        const a = SearchArgs.parse(args);
        const hits = search ? await search(a.query, signal) : [];
        if (hits.length === 0) return 'no results (or no Curator on the mesh); try grep';
        return hits.map((h) => `--- ${h.path}:${h.startLine}-${h.endLine}\n${h.text}`).join('\n');
      }
      case 'grep': {
        const a = GrepArgs.parse(args);
        const r = await git(
          root,
          ['grep', '-n', '-I', '-E', '-z', '--no-color', '--no-textconv', '-e', a.pattern],
          {
            allowFail: true,
            signal,
            worktree: true,
          },
        );
        // git reads a tracked path through whatever its directories are now, links included: keep only
        // matches whose file really lies inside the repository.
        const realRoot = await realpath(root);
        const ok = new Map<string, boolean>();
        const lines: string[] = [];
        for (const rec of r.stdout.split('\n')) {
          const [path, line, ...text] = rec.split('\0');
          if (!path || line === undefined) continue;
          if (!ok.has(path))
            ok.set(path, confined(realRoot, await realpath(join(realRoot, path)).catch(() => '/')));
          if (ok.get(path)) lines.push(`${path}:${line}:${text.join('\0')}`);
        }
        return lines.length === 0
          ? 'no matches'
          : lines.slice(0, 100).join('\n') + (lines.length > 100 ? `\n... ${lines.length - 100} more` : '');
      }
      default:
        return `error: there is no tool named ${name}; the tools are ${toolSpecs.map((t) => t.name).join(', ')}`;
    }
  } catch (err) {
    if (err instanceof z.ZodError)
      return `error: bad arguments for ${name}: ${err.issues.map((i) => i.message).join('; ')}`;
    return `error: ${(err as Error).message}`;
  }
}
