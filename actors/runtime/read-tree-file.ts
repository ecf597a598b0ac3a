// Reading a file of a repository's work tree on the host. The tree is untrusted: a committed symlink may point
// at /etc/shadow or another tenant's file, a FIFO would block the reader forever, a device or a huge file would
// exhaust memory. Only a regular file inside the tree, reached through real directories, of bounded size, is
// read; everything else reads as absent.
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';

/** The default cap: configuration and documentation files codemesh reads are far smaller. */
export const TREE_FILE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The text of `rel` under `root`, or undefined when it is absent, not a regular file, reached through a symlink
 * (any component, the last included), larger than `max` bytes, or names a path outside (`..`, absolute).
 * The file is opened with O_NOFOLLOW and O_NONBLOCK and checked again on its descriptor, so a symlink or FIFO
 * swapped in after the check is refused too.
 */
export async function readTreeFile(
  root: string,
  rel: string,
  max: number = TREE_FILE_MAX_BYTES,
): Promise<string | undefined> {
  const parts = rel.split('/');
  if (rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    const last = i === parts.length - 1;
    if (!st || (last ? !st.isFile() || st.size > max : !st.isDirectory())) return undefined;
  }
  const fh = await open(at, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > max) return undefined;
    // Read at most max + 1 bytes: a file that grew past the cap since fstat is refused, not read whole.
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) break;
    }
    if (got > max) return undefined;
    return buf.toString('utf8', 0, got);
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => {});
  }
}
