// The Coder's read-only tools over its worktree: read_file, list_files, grep (and search, with a Curator).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, normalize, relative, sep } from 'node:path';
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
        const abs = insideRoot(root, a.path);
        if ((await stat(abs)).size > 1_000_000)
          return `error: ${a.path} is larger than 1 MB; read a line range`;
        const lines = (await readFile(abs, 'utf8')).split('\n');
        const from = a.startLine ?? 1;
        const to = Math.min(a.endLine ?? lines.length, lines.length);
        return lines
          .slice(from - 1, to)
          .map((l, i) => `${from + i}: ${l}`)
          .join('\n');
      }
      case 'list_files': {
        const a = ListArgs.parse(args);
        const base = insideRoot(root, a.dir ?? '.');
        const out: string[] = [];
        const walk = async (dir: string) => {
          for (const e of await readdir(dir, { withFileTypes: true })) {
            if (out.length >= 400) return;
            if (e.name === '.git' || e.name === 'node_modules' || e.name.startsWith('.codemesh')) continue;
            const p = join(dir, e.name);
            if (e.isDirectory()) await walk(p);
            else out.push(relative(root, p));
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
        const r = await git(root, ['grep', '-n', '-I', '-E', '--no-color', '-e', a.pattern], {
          allowFail: true,
          signal,
        });
        const lines = r.stdout.split('\n').filter(Boolean);
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
