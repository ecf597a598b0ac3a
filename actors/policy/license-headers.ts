// License headers of the files a patch creates, checked against the repository's own license (issue 14 item 1):
// a new file that declares another license (an SPDX tag or a well-known header text) is a finding, and one whose
// license the bundle denies is refused like a dependency under it.
import satisfies from 'spdx-satisfies';
import type { Read } from './deps.ts';
import { spdxOf } from './licenses.ts';

/** How far into a file its header is looked for. */
const HEADER_LINES = 40;

/** Well-known license texts, most specific first: what a header or a LICENSE file says → its SPDX id. */
const TEXTS: ReadonlyArray<{ re: RegExp; id: string | ((t: string) => string) }> = [
  { re: /GNU\s+AFFERO\s+GENERAL\s+PUBLIC\s+LICENSE/i, id: (t) => gnu('AGPL', t) },
  { re: /GNU\s+(LESSER|LIBRARY)\s+GENERAL\s+PUBLIC\s+LICENSE/i, id: (t) => gnu('LGPL', t) },
  { re: /GNU\s+GENERAL\s+PUBLIC\s+LICENSE/i, id: (t) => gnu('GPL', t) },
  { re: /Mozilla\s+Public\s+License,?\s+v(ersion|\.)\s*2\.0/i, id: 'MPL-2.0' },
  { re: /Apache\s+License,?\s+Version\s+2\.0/i, id: 'Apache-2.0' },
  { re: /Permission\s+is\s+hereby\s+granted,\s+free\s+of\s+charge/i, id: 'MIT' },
  {
    re: /Redistribution\s+and\s+use\s+in\s+source\s+and\s+binary\s+forms/i,
    id: (t) => (/Neither\s+the\s+name/i.test(t) ? 'BSD-3-Clause' : 'BSD-2-Clause'),
  },
  { re: /Permission\s+to\s+use,\s+copy,\s+modify,\s+and\/?or\s+distribute/i, id: 'ISC' },
  { re: /This\s+is\s+free\s+and\s+unencumbered\s+software/i, id: 'Unlicense' },
];

/** GPL family: the version named, and "or later" when the text offers any later version. */
function gnu(family: 'GPL' | 'LGPL' | 'AGPL', text: string): string {
  const v = /version\s+(\d(?:\.\d)?)/i.exec(text)?.[1] ?? (family === 'LGPL' ? '2.1' : '3');
  const version = v.includes('.') ? v : `${v}.0`;
  return `${family}-${version}-${/any\s+later\s+version/i.test(text) ? 'or-later' : 'only'}`;
}

function fromText(text: string): string | undefined {
  for (const t of TEXTS) if (t.re.test(text)) return typeof t.id === 'string' ? t.id : t.id(text);
  return undefined;
}

/**
 * The license a file's header declares: an `SPDX-License-Identifier:` tag, else a well-known license text,
 * within its first 40 lines. Undefined when it declares none.
 *
 * @example
 * headerLicense('# SPDX-License-Identifier: GPL-3.0-only\nimport os\n') // { expression: 'GPL-3.0-only', line: 1 }
 */
export function headerLicense(text: string): { expression: string; line: number } | undefined {
  const lines = text.split('\n').slice(0, HEADER_LINES);
  for (const [i, l] of lines.entries()) {
    const tag = /SPDX-License-Identifier:\s*([^*#\n]+?)\s*(?:\*\/|-->)?\s*$/.exec(l);
    const expression = tag ? spdxOf(tag[1]) : undefined;
    if (expression) return { expression, line: i + 1 };
  }
  const head = lines.join('\n');
  const expression = fromText(head);
  if (!expression) return undefined;
  const at = lines.findIndex((l) => TEXTS.some((t) => t.re.test(l)));
  return { expression, line: at >= 0 ? at + 1 : 1 };
}

const LICENSE_FILES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'COPYING', 'COPYING.txt'];

/**
 * The repository's license at the base commit: `package.json` `license`, pyproject's `license`, else the text
 * of its LICENSE/COPYING file. Undefined when none can be told.
 */
export async function repoLicense(
  readBase: Read,
): Promise<{ expression: string; source: string } | undefined> {
  const pkg = await readBase('package.json');
  if (pkg) {
    try {
      const expression = spdxOf((JSON.parse(pkg) as { license?: unknown }).license);
      if (expression) return { expression, source: 'package.json' };
    } catch {
      // not JSON: the other sources decide
    }
  }
  const pyproject = await readBase('pyproject.toml');
  const py = pyproject
    ? /^\s*license\s*=\s*(?:"([^"]+)"|\{\s*text\s*=\s*"([^"]+)"\s*\})/m.exec(pyproject)
    : null;
  const pyExpr = py ? spdxOf(py[1] ?? py[2]) : undefined;
  if (pyExpr) return { expression: pyExpr, source: 'pyproject.toml' };
  for (const name of LICENSE_FILES) {
    const text = await readBase(name);
    if (!text) continue;
    const expression = fromText(text.slice(0, 4000));
    if (expression) return { expression, source: name };
  }
  return undefined;
}

/**
 * Whether a file under `header` may sit in a repository under `repo` as it is: the header's expression can be
 * met with the repository's license(s) alone (`MIT OR Apache-2.0` in an MIT repository; `GPL-2.0-or-later` in
 * a `GPL-3.0-only` one). A compound repository license with AND/WITH fits only the same expression.
 */
export function headerFits(header: string, repo: string): boolean {
  if (header === repo) return true;
  const approved = repo
    .replace(/[()]/g, '')
    .split(/\s+OR\s+/i)
    .map((s) => s.trim());
  if (approved.some((a) => /\s/.test(a))) return false;
  try {
    return satisfies(header, approved);
  } catch {
    return false;
  }
}
