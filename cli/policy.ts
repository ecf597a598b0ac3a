// `codemesh policy`: imports offline vulnerability data (OSV) and installs an org's policy bundle in the state
// dir, where the Coder's policy check reads them.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  extendDefaultBundle,
  importOsvBundle,
  orgPolicyPath,
  PolicyBundleError,
} from '../actors/policy/index.ts';
import { UsageError } from './errors.ts';
import { settingsFromEnv } from './settings.ts';
import { POLICY_USAGE } from './usage-text.js';

const ORG_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export async function cmdPolicy(
  argv: string[],
  out: { write(text: string): unknown } = process.stdout,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { bundle: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.bundle) throw new UsageError(`--bundle is required\n${POLICY_USAGE}`);
  const { dataDir } = settingsFromEnv(env);
  const print = (human: string, json: object) => out.write(`${values.json ? JSON.stringify(json) : human}\n`);
  try {
    if (sub === 'update') {
      const r = await importOsvBundle(values.bundle, dataDir);
      print(`imported ${r.records} OSV record(s) into ${r.path}`, r);
      return 0;
    }
    if (sub === 'org') {
      const org = positionals[0];
      if (!org || !ORG_ID.test(org))
        throw new UsageError(`codemesh policy org takes an org id\n${POLICY_USAGE}`);
      const text = await readFile(values.bundle, 'utf8');
      // Checked on top of the default bundle, as the Coder will merge it.
      const merged = extendDefaultBundle([{ text, source: `org:${org}` }]);
      const path = orgPolicyPath(dataDir, org);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.tmp`, text);
      await rename(`${path}.tmp`, path);
      print(`installed ${path} (bundle ${merged.version}, ${merged.rules.length} rules)`, {
        path,
        version: merged.version,
        rules: merged.rules.length,
      });
      return 0;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof PolicyBundleError || e.code === 'ENOENT') {
      out.write(`codemesh policy: ${e.message}\n`);
      return 2;
    }
    throw err;
  }
  throw new UsageError(`codemesh policy takes: update, org\n${POLICY_USAGE}`);
}
