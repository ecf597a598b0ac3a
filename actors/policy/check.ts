// The policy check of one candidate patch: secrets (already scanned by the Coder), SAST, licenses and
// vulnerabilities of the dependencies it adds or changes — one report, each finding enforced by its bundle rule.
import type {
  DependencyChange,
  OsvRecord,
  PolicyBundle,
  PolicyFinding,
  PolicyKind,
  PolicyReport,
  PolicyRule,
  SecretFinding,
} from '../../schemas/index.ts';
import { defaultPolicyBundle } from './bundle.ts';
import { dependencyChanges, type Read } from './deps.ts';
import { type ChangedFile, changedFiles } from './diff-files.ts';
import { headerFits, headerLicense, repoLicense } from './license-headers.ts';
import { checkLicense, type List, resolveLicenses } from './licenses.ts';
import { advisoriesFor } from './osv.ts';
import { scanChangedCode, sastCwe } from './sast.ts';
import { sbomOf } from './sbom.ts';

export interface PolicyCheckInput {
  /** The diff as stored (secrets already redacted). */
  diff: string;
  /** A file's text after the patch (the Coder's worktree); undefined when it does not exist. */
  read: Read;
  bundle?: PolicyBundle;
  /** The imported OSV records; undefined: none imported (the report says so). */
  osv?: readonly OsvRecord[];
  /**
   * Reads installed package metadata (`node_modules/<name>/package.json`): the repository's own checkout, not
   * the patched tree, whose files the model wrote. Default: `read`.
   */
  readInstalled?: Read;
  /** Lists a directory of the same checkout (a venv's `site-packages`); without it, usual names are tried. */
  listInstalled?: List;
  /** What the secret scanner found in this diff. */
  secrets?: readonly SecretFinding[];
  /**
   * Reads a file of the repository at the base commit (its license: `package.json`, `pyproject.toml`, LICENSE).
   * Undefined: new files' license headers are checked against the bundle's lists only.
   */
  readBase?: Read;
}

const MAX_LISTED = 300;
const MAX_FINDINGS = 200;

const pkg = (d: DependencyChange) => ({
  ecosystem: d.ecosystem,
  name: d.name,
  ...(d.version && { version: d.version }),
});

type Add = (
  rule: PolicyRule | undefined,
  f: Omit<PolicyFinding, 'ruleId' | 'severity' | 'enforcement' | 'remediation' | 'kind'> & {
    severity?: PolicyFinding['severity'];
    remediation?: string;
  },
) => void;

/**
 * The license header of each file the patch creates: a license the bundle refuses is refused as for a
 * dependency; one that does not fit the repository's own license is `license-header`.
 */
async function checkHeaders(
  files: readonly ChangedFile[],
  input: PolicyCheckInput,
  bundle: PolicyBundle,
  rules: ReadonlyMap<string, PolicyRule>,
  add: Add,
  notes: string[],
): Promise<void> {
  const created = files.filter((f) => f.created);
  if (created.length === 0) return;
  const repo = input.readBase ? await repoLicense(input.readBase) : undefined;
  let declared = 0;
  for (const f of created.slice(0, 200)) {
    const text = await input.read(f.path);
    const header = text ? headerLicense(text) : undefined;
    if (!header) continue;
    declared++;
    const v = checkLicense(header.expression, bundle.licenses);
    if (v && v.ruleId !== 'license-unknown')
      add(rules.get(v.ruleId), {
        file: f.path,
        line: header.line,
        message: `the new file's header declares ${v.message}`,
      });
    else if (repo && !headerFits(header.expression, repo.expression)) {
      const rule = rules.get('license-header');
      add(rule, {
        file: f.path,
        line: header.line,
        message: `the new file's header declares ${header.expression}; the repository is ${repo.expression} (${repo.source})`,
        remediation:
          `Put the file under the repository's license (${repo.expression}) or leave the header out. ${rule?.remediation ?? ''}`.trim(),
      });
    }
  }
  if (declared > 0 && input.readBase && !repo)
    notes.push(
      "the repository's license could not be told: new files' license headers checked against the bundle only",
    );
}

/**
 * Checks one patch. Rules the bundle disables produce nothing; a finding whose rule is `block` makes the report
 * `blocked`.
 *
 * @example
 * const report = await checkPatch({ diff, read: (p) => readFile(join(worktree, p), 'utf8').catch(() => undefined) });
 * if (report.blocked) ... // the Reviewer refuses it with each finding's remediation
 */
export async function checkPatch(input: PolicyCheckInput): Promise<PolicyReport> {
  const bundle = input.bundle ?? defaultPolicyBundle;
  const rules = new Map(bundle.rules.map((r) => [r.id, r]));
  const findings: PolicyFinding[] = [];
  const notes: string[] = [];
  const add: Add = (rule, f) => {
    if (!rule?.enabled) return;
    findings.push({
      kind: rule.kind,
      ruleId: rule.id,
      severity: f.severity ?? rule.severity,
      enforcement: rule.enforcement,
      ...f,
      remediation: f.remediation ?? rule.remediation,
    });
  };

  for (const s of input.secrets ?? [])
    add(rules.get('secret'), {
      file: s.file,
      line: s.line,
      message: `${s.ruleId} (${s.description}): ${s.preview}`,
    });

  const files = changedFiles(input.diff);
  const sast = await scanChangedCode(files, input.read);
  notes.push(...sast.notes);
  for (const m of sast.matches) {
    const rule = rules.get(m.ruleId);
    add(rule, {
      file: m.file,
      line: m.line,
      message: `${m.message}: ${m.code}`,
      cwe: rule?.cwe ?? sastCwe(m.ruleId),
    });
  }

  await checkHeaders(files, input, bundle, rules, add, notes);

  const deps = await resolveLicenses(
    await dependencyChanges(files, input.read),
    bundle.licenses,
    input.readInstalled ?? input.read,
    input.listInstalled,
  );
  for (const d of deps) {
    const v = checkLicense(d.license, bundle.licenses);
    if (v)
      add(rules.get(v.ruleId), {
        file: d.file,
        line: d.line,
        message: `${d.ecosystem} ${d.name}: ${v.message}`,
        package: pkg(d),
      });
  }
  if (deps.length > 0 && !input.osv)
    notes.push(
      'no OSV data imported (codemesh policy update --bundle <file>): dependency versions not checked for advisories',
    );
  const unpinned = deps.filter((d) => !d.version);
  if (unpinned.length > 0 && input.osv)
    notes.push(`no exact version for ${unpinned.map((d) => d.name).join(', ')}: not checked for advisories`);
  for (const d of input.osv ? deps : []) {
    for (const a of advisoriesFor(d, input.osv!)) {
      const rule = rules.get('vulnerability');
      add(rule, {
        file: d.file,
        line: d.line,
        severity: a.severity,
        message: `${d.ecosystem} ${d.name}@${d.version}: ${a.id}${a.summary ? ` (${a.summary})` : ''}`,
        remediation: a.fixed
          ? `Upgrade ${d.name} to ${a.fixed} or later (fixes ${a.id}).`
          : `No fixed version of ${d.name} is known for ${a.id}: remove the dependency or choose another. ${rule?.remediation ?? ''}`.trim(),
        package: pkg(d),
        advisory: a.id,
        ...(a.fixed && { fixed: a.fixed }),
      });
    }
  }

  // The report lives on the patch's blackboard entry and in events: a regenerated lockfile must not make it
  // outgrow a message. Findings are all kept up to a bound; the listing and the SBOM stop earlier.
  const listed = deps.slice(0, MAX_LISTED);
  if (deps.length > MAX_LISTED)
    notes.push(
      `${deps.length} dependency changes: the first ${MAX_LISTED} are listed and in the SBOM (all were checked)`,
    );
  const kept =
    findings.length > MAX_FINDINGS
      ? [...findings]
          .sort((a, b) => Number(b.enforcement === 'block') - Number(a.enforcement === 'block'))
          .slice(0, MAX_FINDINGS)
      : findings;
  if (findings.length > MAX_FINDINGS)
    notes.push(`${findings.length} findings: the first ${MAX_FINDINGS} are kept (counts include all)`);
  const counts = { secret: 0, sast: 0, license: 0, vulnerability: 0 } satisfies Record<PolicyKind, number>;
  for (const f of findings) counts[f.kind]++;
  return {
    bundle: bundle.version,
    findings: kept,
    counts,
    blocked: findings.some((f) => f.enforcement === 'block'),
    dependencies: listed,
    notes,
    ...(listed.length > 0 && { sbom: sbomOf(listed) }),
  };
}
