// Declared outputs of a job (its reports) leave the sandbox as a ustar stream and land in the host's copy of
// the work tree. The stream comes from inside the sandbox, so it is parsed as untrusted data, and written
// without following any symlink on the host side.
import { constants } from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import { isAbsolute, join, normalize, posix } from 'node:path';

/** One regular file of the outputs stream, at its path relative to the work tree. */
export interface OutputFile {
  path: string;
  data: Buffer;
}

const BLOCK = 512;

/** True when `p` is a clean relative path (no `..`, no `.` prefix, no trailing slash): a valid output. */
export function isCleanRelative(p: string): boolean {
  return (
    p.length > 0 &&
    !p.includes('\0') &&
    !isAbsolute(p) &&
    normalize(p) === p &&
    !p.endsWith('/') &&
    p !== '.' &&
    p.split('/').every((seg) => seg !== '..' && seg !== '.' && seg !== '')
  );
}

/**
 * Regular files of a ustar stream whose path is one of `outputs` or directly inside one. Other entry types,
 * other paths and a truncated last entry are dropped.
 *
 * @example
 * parseOutputs(stream, ['.codemesh-report']); // [{ path: '.codemesh-report/junit.xml', data }]
 */
export function parseOutputs(stream: Buffer, outputs: readonly string[]): OutputFile[] {
  const files: OutputFile[] = [];
  for (let at = 0; at + BLOCK <= stream.length; ) {
    const header = stream.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = octal(header.subarray(124, 136));
    if (size === undefined) break;
    const dataAt = at + BLOCK;
    const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    const type = String.fromCharCode(header[156]!);
    const name = entryName(header);
    if (dataAt + size > stream.length) break;
    if ((type === '0' || type === '\0') && name !== undefined && isDeclared(name, outputs)) {
      files.push({ path: name, data: Buffer.from(stream.subarray(dataAt, dataAt + size)) });
    }
    at = next;
  }
  return files;
}

function entryName(header: Buffer): string | undefined {
  const field = (from: number, to: number) => {
    const raw = header.subarray(from, to);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
  };
  const name = field(0, 100);
  const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(345, 500) : '';
  let full = prefix ? `${prefix}/${name}` : name;
  while (full.startsWith('./')) full = full.slice(2);
  return isCleanRelative(full) ? full : undefined;
}

function octal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]{1,11}$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

function isDeclared(name: string, outputs: readonly string[]): boolean {
  return outputs.some((o) => name === o || posix.dirname(name) === o);
}

/**
 * Write `file` at its path under `root` (the host work tree), creating missing directories. Refuses, rather
 * than follows, a symlink or non-directory anywhere on the way and a symlink or non-regular file at the end.
 */
export async function writeOutput(root: string, file: OutputFile): Promise<void> {
  if (!isCleanRelative(file.path)) throw new Error(`output path is not a clean relative path: ${file.path}`);
  const parts = file.path.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (!st) await mkdir(dir, { mode: 0o755 });
    else if (!st.isDirectory()) throw new Error(`output ${file.path}: ${dir} is not a plain directory`);
  }
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await open(join(root, file.path), flags, 0o644).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`output ${file.path}: cannot open on the host (${err.code ?? err.message})`);
  });
  try {
    if (!(await handle.stat()).isFile())
      throw new Error(`output ${file.path}: not a regular file on the host`);
    await handle.writeFile(file.data);
  } finally {
    await handle.close();
  }
}
