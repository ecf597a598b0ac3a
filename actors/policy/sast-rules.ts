// The SAST rules: tree-sitter queries over the post-patch file. Each query's `@hit` capture is the reported
// node; a finding counts only when that node spans a line the patch adds. Severity, enforcement and remediation
// come from the policy bundle (rule ids match `default-policy.yml`); the CWE id lives here with the query.
import type { SyntaxNode } from 'tree-sitter';

export type SastLanguage = 'python' | 'js';

export interface SastQuery {
  id: string;
  cwe: string;
  language: SastLanguage;
  /** What the finding says (the matched code is appended). */
  message: string;
  query: string;
  /** A second look the query language cannot express; false drops the match. */
  accept?: (captures: Record<string, SyntaxNode>) => boolean;
}

/** `yaml.load(s)` is unsafe unless a safe loader is passed (PyYAML < 6 defaulted to the full loader). */
function yamlLoaderUnsafe(c: Record<string, SyntaxNode>): boolean {
  const fn = c.fn?.text ?? '';
  if (fn === 'unsafe_load' || fn === 'full_load') return true;
  const args = c.hit?.childForFieldName('arguments');
  const loader =
    args?.namedChildren.find(
      (a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'Loader',
    ) ?? args?.namedChildren[1];
  return !loader || !/Safe|BaseLoader/.test(loader.text);
}

export const SAST_QUERIES: readonly SastQuery[] = [
  {
    id: 'py-eval-exec',
    cwe: 'CWE-95',
    language: 'python',
    message: 'eval/exec of a dynamic value',
    query: '((call function: (identifier) @fn) @hit (#match? @fn "^(eval|exec)$"))',
  },
  {
    id: 'py-subprocess-shell',
    cwe: 'CWE-78',
    language: 'python',
    message: 'a command run through the shell (shell=True)',
    query:
      '((call arguments: (argument_list (keyword_argument name: (identifier) @k value: (true)))) @hit (#eq? @k "shell"))',
  },
  {
    id: 'py-os-system',
    cwe: 'CWE-78',
    language: 'python',
    message: 'os.system/os.popen runs its argument through the shell',
    query:
      '((call function: (attribute object: (identifier) @m attribute: (identifier) @f)) @hit (#eq? @m "os") (#match? @f "^(system|popen)$"))',
  },
  {
    id: 'py-sql-string',
    cwe: 'CWE-89',
    language: 'python',
    message: 'SQL built from a string expression (concatenation, %, f-string or .format) passed to execute',
    query: `((call function: (attribute attribute: (identifier) @f)
        arguments: (argument_list . [(binary_operator) (string (interpolation))
          (call function: (attribute attribute: (identifier) @fmt (#eq? @fmt "format")))])) @hit
      (#match? @f "^(execute|executemany|executescript|raw)$"))`,
  },
  {
    id: 'py-tls-verify-disabled',
    cwe: 'CWE-295',
    language: 'python',
    message: 'TLS certificate verification disabled (verify=False)',
    query: '((keyword_argument name: (identifier) @k value: (false)) @hit (#eq? @k "verify"))',
  },
  {
    id: 'py-pickle-loads',
    cwe: 'CWE-502',
    language: 'python',
    message: 'unpickling data (pickle can run code while loading)',
    query:
      '((call function: (attribute object: (identifier) @m attribute: (identifier) @f)) @hit (#match? @m "^(pickle|cPickle|dill|marshal)$") (#match? @f "^loads?$"))',
  },
  {
    id: 'py-yaml-unsafe-load',
    cwe: 'CWE-502',
    language: 'python',
    message: 'yaml.load without a safe loader',
    query:
      '((call function: (attribute object: (identifier) @m attribute: (identifier) @fn)) @hit (#eq? @m "yaml") (#match? @fn "^(load|load_all|unsafe_load|full_load)$"))',
    accept: yamlLoaderUnsafe,
  },
  {
    id: 'js-eval',
    cwe: 'CWE-95',
    language: 'js',
    message: 'eval / new Function of a dynamic value',
    query: `((call_expression function: (identifier) @fn) @hit (#eq? @fn "eval"))
      ((new_expression constructor: (identifier) @fn) @hit (#eq? @fn "Function"))`,
  },
  {
    id: 'js-shell-command',
    cwe: 'CWE-78',
    language: 'js',
    message: 'a shell command built from a template or concatenation (exec/execSync), or shell: true',
    query: `((call_expression function: [(identifier) @fn (member_expression property: (property_identifier) @fn)]
        arguments: (arguments . [(template_string (template_substitution)) (binary_expression)])) @hit
      (#match? @fn "^(exec|execSync)$"))
      ((pair key: [(property_identifier) (string)] @k value: (true)) @hit (#match? @k "^['\\"]?shell['\\"]?$"))`,
  },
  {
    id: 'js-sql-string',
    cwe: 'CWE-89',
    language: 'js',
    message: 'SQL built from a template with substitutions or a concatenation passed to query/execute',
    query: `((call_expression function: (member_expression property: (property_identifier) @f)
        arguments: (arguments . [(template_string (template_substitution)) (binary_expression)])) @hit
      (#match? @f "^(query|execute|raw|\\\\$queryRawUnsafe|\\\\$executeRawUnsafe)$"))`,
  },
  {
    id: 'js-tls-reject-unauthorized',
    cwe: 'CWE-295',
    language: 'js',
    message: 'TLS certificate verification disabled (rejectUnauthorized: false)',
    query:
      '((pair key: [(property_identifier) (string)] @k value: (false)) @hit (#match? @k "^[\'\\"]?rejectUnauthorized[\'\\"]?$"))',
  },
];
