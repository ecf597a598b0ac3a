import { describe, expect, it } from 'vitest';
import { SecretRuleBundle } from '../../schemas/index.ts';
import {
  defaultSecretRules,
  redactionMarker,
  redactText,
  scanDiff,
  secretsCritique,
  shannonEntropy,
} from './index.ts';

// Realistic-looking values, built by concatenation so this file holds no scannable literal.
const AWS_KEY = `AKIA${'Q4ZT7R2XW9L3M6NB'}`;
const GH_TOKEN = `ghp_${'x7Kq2Lm9Pz4Rt8Vw1Ys6Bn3Cd5Fg0Hj2Kl4M'}`;
const HIGH = `q8Zr2Lx9${'Vb4Nw7Kp3Tf6'}`;
const AWS_SECRET = `wK3nR8pQ2vX7mZ1cB5${'tY9hJ4gF6dS0aL2eU8iO3k'}`;

function diffOf(file: string, added: string[], context: string[] = ['import os']): string {
  return [
    `diff --git a/${file} b/${file}`,
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -1,${context.length} +1,${context.length + added.length} @@`,
    ...context.map((c) => ` ${c}`),
    ...added.map((a) => `+${a}`),
    '',
  ].join('\n');
}

describe('scanDiff', () => {
  it('finds and redacts an AWS key, a GitHub token and a high-entropy assignment', () => {
    const diff = diffOf('app/settings.py', [
      `AWS_KEY = "${AWS_KEY}"`,
      `gh = "${GH_TOKEN}"`,
      `api_key = "${HIGH}"`,
    ]);
    const { findings, diff: out } = scanDiff(diff);
    expect(findings.map((f) => [f.ruleId, f.file, f.line])).toEqual([
      ['aws-access-key-id', 'app/settings.py', 2],
      ['github-token', 'app/settings.py', 3],
      ['generic-secret', 'app/settings.py', 4],
    ]);
    for (const secret of [AWS_KEY, GH_TOKEN, HIGH]) {
      expect(out).not.toContain(secret);
      expect(JSON.stringify(findings)).not.toContain(secret);
    }
    expect(out).toContain(`+AWS_KEY = "${redactionMarker('aws-access-key-id')}"`);
    expect(findings[0]!.preview).toBe('AWS_KEY = "[REDACTED:aws-access-key-id]"');
    // Line for line: the same number of lines, the hunk header unchanged.
    expect(out.split('\n')).toHaveLength(diff.split('\n').length);
    expect(out.split('\n')[3]).toBe(diff.split('\n')[3]);
  });

  it('finds the other token kinds and an AWS secret key assignment', () => {
    const fine = `github_pat_${'A1b2C3d4E5f6G7h8I9j0K1'}_${'l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6A7b8C9d0E1f2G3h4I5j6K7l8M9N0p'}`;
    const slack = `xoxb-${'2843910576-1938475610293-Zq8Xr2Lm9Pw4Kt7Vb3Nc6'}`;
    const { findings, diff } = scanDiff(
      diffOf('cfg.ts', [
        `const t = "${fine}";`,
        `const s = '${slack}';`,
        `aws_secret_access_key = ${AWS_SECRET}`,
        `const o = "gho_${'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa'}";`,
      ]),
    );
    expect(findings.map((f) => f.ruleId)).toEqual([
      'github-fine-grained-pat',
      'slack-token',
      'aws-secret-access-key',
      'github-token',
    ]);
    expect(diff).not.toContain(fine);
    expect(diff).not.toContain(slack);
    expect(diff).not.toContain(AWS_SECRET);
  });

  it('redacts every line of an added private key block and reports it once', () => {
    const body = [
      'MIIEowIBAAKCAQEAx7Kq2Lm9Pz4Rt8Vw1Ys6Bn3Cd5Fg0Hj2Kl4',
      'Mz8Qr3Tv6Wx9Yb2Ce5Gh8Jk1Mn4Pq7St0Uw3Zy6',
    ];
    const lines = [
      'KEY = """',
      '-----BEGIN RSA PRIVATE KEY-----',
      ...body,
      '-----END RSA PRIVATE KEY-----',
      '"""',
    ];
    const { findings, diff } = scanDiff(diffOf('deploy/key.py', lines));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'private-key', file: 'deploy/key.py', line: 3 });
    for (const b of body) expect(diff).not.toContain(b);
    expect(diff).not.toContain('END RSA PRIVATE KEY');
    expect(diff).toContain('+"""');
    expect(diff.split('\n').filter((l) => l === '+[REDACTED:private-key]')).toHaveLength(4);
  });

  it('does not report the safe forms or allowlisted fake values', () => {
    const input = diffOf('app/settings.py', [
      'AWS_KEY = os.environ["AWS_ACCESS_KEY_ID"]',
      'password = "password123"',
      'token = os.getenv("GITHUB_TOKEN")',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style placeholder, on purpose
      'api_key = "${API_KEY}"',
      'secret = "<your-secret-here>"',
      'AWS_KEY = "AKIAIOSFODNN7EXAMPLE"',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'passwd = "aaaaaaaaaaaa"',
      `previous = "${redactionMarker('generic-secret')}"`,
    ]);
    const { findings, diff } = scanDiff(input);
    expect(findings).toEqual([]);
    expect(diff).toBe(input);
  });

  it('scans only added lines: context and removed lines are already in the repository', () => {
    const diff = [
      'diff --git a/a.py b/a.py',
      '--- a/a.py',
      '+++ b/a.py',
      '@@ -1,3 +1,3 @@',
      ` OLD = "${AWS_KEY}"`,
      `-gh = "${GH_TOKEN}"`,
      '+gh = os.environ["GH"]',
      ' x = 1',
      '',
    ].join('\n');
    const scan = scanDiff(diff);
    expect(scan.findings).toEqual([]);
    expect(scan.diff).toBe(diff);
  });

  it('counts new-file lines across hunks and files, and skips allowlisted paths', () => {
    const diff = [
      'diff --git a/a.py b/a.py',
      '--- a/a.py',
      '+++ b/a.py',
      '@@ -10,2 +10,3 @@ def f():',
      ' a = 1',
      '-b = 2',
      '+b = 3',
      `+k = "${AWS_KEY}"`,
      'diff --git a/package-lock.json b/package-lock.json',
      '--- a/package-lock.json',
      '+++ b/package-lock.json',
      '@@ -1 +1 @@',
      '-{}',
      `+{"token": "${HIGH}"}`,
      'diff --git a/new.ts b/new.ts',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new.ts',
      '@@ -0,0 +1,2 @@',
      '+// +++ b/not-a-header',
      `+export const token = '${GH_TOKEN}';`,
      '',
    ].join('\n');
    const { findings } = scanDiff(diff);
    expect(findings.map((f) => [f.ruleId, f.file, f.line])).toEqual([
      ['aws-access-key-id', 'a.py', 12],
      ['github-token', 'new.ts', 2],
    ]);
  });

  it('honours a bundle of its own: rule allowlists and the keyword pre-filter', () => {
    const bundle = SecretRuleBundle.parse({
      version: 't',
      rules: [
        {
          id: 'internal',
          description: 'internal key',
          regex: 'ik_[a-z0-9]{8}',
          keywords: ['ik_'],
          allowlist: { paths: ['^fixtures/'] },
        },
      ],
    });
    expect(scanDiff(diffOf('src/a.ts', ['x = "ik_a1b2c3d4"']), bundle).findings).toHaveLength(1);
    expect(scanDiff(diffOf('fixtures/a.ts', ['x = "ik_a1b2c3d4"']), bundle).findings).toHaveLength(0);
    // The default rules are not in this bundle.
    expect(scanDiff(diffOf('src/a.ts', [`k = "${AWS_KEY}"`]), bundle).findings).toHaveLength(0);
  });

  it('refuses a bundle with a bad regex or duplicate ids', () => {
    const rule = { id: 'a', description: 'a', regex: '(' };
    expect(SecretRuleBundle.safeParse({ version: '1', rules: [rule] }).success).toBe(false);
    const ok = { id: 'a', description: 'a', regex: 'x' };
    expect(SecretRuleBundle.safeParse({ version: '1', rules: [ok, ok] }).success).toBe(false);
    expect(defaultSecretRules.rules.length).toBeGreaterThanOrEqual(8);
  });
});

describe('shannonEntropy and the critique', () => {
  it('measures bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abab')).toBe(1);
    expect(shannonEntropy(HIGH)).toBeGreaterThan(3.5);
  });
  it('names rule, file and line, never a secret', () => {
    const { findings } = scanDiff(diffOf('s.py', [`AWS_KEY = "${AWS_KEY}"`]));
    const text = secretsCritique(findings);
    expect(text).toContain('aws-access-key-id');
    expect(text).toContain('s.py:2');
    expect(text).not.toContain(AWS_KEY);
  });
});

describe('redactText', () => {
  it('redacts secrets in free text (a model reply), every line scanned', () => {
    const reply = `src/a.py\n<<<<<<< SEARCH\nx = 1\n=======\nKEY = "${AWS_KEY}"\n>>>>>>> REPLACE\n`;
    const r = redactText(reply);
    expect(r.found).toBe(1);
    expect(r.text).not.toContain(AWS_KEY);
    expect(r.text).toContain('KEY = "[REDACTED:aws-access-key-id]"');
    expect(redactText('nothing here')).toEqual({ text: 'nothing here', found: 0 });
  });
});
