import { describe, expect, it } from 'vitest';
import { changedFiles } from './diff-files.ts';
import { SAST_QUERIES } from './sast-rules.ts';
import { scanChangedCode, scanSource } from './sast.ts';

const all = (text: string) => new Set(text.split('\n').map((_, i) => i + 1));
const ids = (path: string, text: string) => scanSource(path, text, all(text)).map((m) => m.ruleId);

describe('SAST queries', () => {
  it('fires on subprocess.run(x, shell=True) and not on the list form', () => {
    const bad = 'import subprocess\nsubprocess.run(x, shell=True)\n';
    const found = scanSource('app.py', bad, all(bad));
    expect(found).toEqual([
      expect.objectContaining({ ruleId: 'py-subprocess-shell', cwe: 'CWE-78', file: 'app.py', line: 2 }),
    ]);
    expect(
      ids('app.py', 'import subprocess\nsubprocess.run([x])\nsubprocess.run([x], shell=False)\n'),
    ).toEqual([]);
  });

  it('finds the Python rules and leaves their safe forms alone', () => {
    const bad = [
      'eval(expr)',
      'exec(code)',
      'os.system("ls " + d)',
      'cur.execute("select * from t where id=" + uid)',
      'cur.execute(f"select * from t where id={uid}")',
      'cur.execute("select %s" % uid)',
      'cur.execute("select {}".format(uid))',
      'requests.get(url, verify=False)',
      'pickle.loads(blob)',
      'yaml.load(s)',
      'yaml.load(s, Loader=yaml.Loader)',
    ].join('\n');
    expect(ids('m.py', bad)).toEqual([
      'py-eval-exec',
      'py-eval-exec',
      'py-os-system',
      'py-sql-string',
      'py-sql-string',
      'py-sql-string',
      'py-sql-string',
      'py-tls-verify-disabled',
      'py-pickle-loads',
      'py-yaml-unsafe-load',
      'py-yaml-unsafe-load',
    ]);
    const safe = [
      'cur.execute("select * from t where id = ?", (uid,))',
      'requests.get(url, verify=True)',
      'yaml.load(s, Loader=yaml.SafeLoader)',
      'yaml.safe_load(s)',
      'json.loads(blob)',
      'ast.literal_eval(expr)',
      'subprocess.run(["ls", d], check=True)',
    ].join('\n');
    expect(ids('m.py', safe)).toEqual([]);
  });

  it('finds the JS/TS rules and leaves their safe forms alone', () => {
    const bad = [
      'eval(src);',
      'const f = new Function(src);',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JS source under test, on purpose
      'execSync(`git log ${ref}`);',
      'child.exec("rm -rf " + dir);',
      'spawn(cmd, args, { shell: true });',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JS source under test, on purpose
      'await db.query(`select * from t where id = ${id}`);',
      "await db.query('select * from t where id = ' + id);",
      'https.request({ host, rejectUnauthorized: false });',
    ].join('\n');
    expect(ids('a.ts', bad)).toEqual([
      'js-eval',
      'js-eval',
      'js-shell-command',
      'js-shell-command',
      'js-shell-command',
      'js-sql-string',
      'js-sql-string',
      'js-tls-reject-unauthorized',
    ]);
    expect(ids('a.tsx', 'eval(x);\n')).toEqual(['js-eval']);
    expect(ids('a.mjs', 'eval(x);\n')).toEqual(['js-eval']);
    const safe = [
      "await db.query('select * from t where id = $1', [id]);",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JS source under test, on purpose
      'await db.query(sql`select * from t where id = ${id}`);',
      "execFile('git', ['log', ref]);",
      'https.request({ host, rejectUnauthorized: true });',
      'JSON.parse(src);',
    ].join('\n');
    expect(ids('a.ts', safe)).toEqual([]);
  });

  it('reports only matches on added lines, at their post-patch line', async () => {
    const diff = [
      'diff --git a/app.py b/app.py',
      '--- a/app.py',
      '+++ b/app.py',
      '@@ -1,3 +1,4 @@',
      ' import subprocess',
      ' subprocess.run(old, shell=True)',
      '+subprocess.run(new,',
      '+               shell=True)',
      ' x = 1',
      'diff --git a/README.md b/README.md',
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1 +1 @@',
      '-a',
      '+eval(x)',
      '',
    ].join('\n');
    const post =
      'import subprocess\nsubprocess.run(old, shell=True)\nsubprocess.run(new,\n               shell=True)\nx = 1\n';
    const files = changedFiles(diff);
    expect(files.map((f) => [f.path, [...f.added]])).toEqual([
      ['app.py', [3, 4]],
      ['README.md', [1]],
    ]);
    const { matches } = await scanChangedCode(files, async (p) => (p === 'app.py' ? post : 'eval(x)\n'));
    expect(matches.map((m) => [m.ruleId, m.line, m.code])).toEqual([
      ['py-subprocess-shell', 3, 'subprocess.run(new,'],
    ]);
  });

  it('every rule carries a CWE id and compiles', () => {
    for (const q of SAST_QUERIES) expect(q.cwe).toMatch(/^CWE-\d+$/);
    expect(ids('x.py', '')).toEqual([]);
    expect(ids('x.js', '')).toEqual([]);
    expect(ids('x.ts', '')).toEqual([]);
  });
});
