// The default secret rules (gitleaks style), as data checked against the `SecretRuleBundle` schema at load.
import { SecretRuleBundle, type SecretRuleBundleInput } from '../../schemas/index.ts';

const DEFAULT_RULES: SecretRuleBundleInput = {
  version: 'default-1',
  allowlist: {
    // Lockfiles hold integrity hashes, not credentials.
    paths: ['(^|/)(package-lock\\.json|yarn\\.lock|pnpm-lock\\.yaml|go\\.sum|Cargo\\.lock|poetry\\.lock)$'],
    // Documentation's fake values (AWS's own examples) and obvious placeholders.
    regexes: ['EXAMPLE', '^(?:x{4,}|\\*{4,}|<[^>]*>|\\$\\{[^}]*\\}|\\{\\{[^}]*\\}\\})$'],
  },
  rules: [
    {
      id: 'aws-access-key-id',
      description: 'AWS access key id',
      regex: '\\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\\b',
      keywords: ['akia', 'asia', 'abia', 'acca', 'a3t'],
      entropy: 3,
    },
    {
      id: 'aws-secret-access-key',
      description: 'AWS secret access key assignment',
      regex:
        'aws_?(?:secret)_?(?:access_?)?key["\']?\\s*(?::|=|:=|=>)\\s*["\']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])',
      caseInsensitive: true,
      keywords: ['aws_secret', 'awssecret', 'aws_secret_access_key'],
      entropy: 3.5,
    },
    {
      id: 'github-token',
      description: 'GitHub token (personal, OAuth, user-to-server, server-to-server or refresh)',
      regex: '\\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36})\\b',
      keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
      entropy: 3,
    },
    {
      id: 'github-fine-grained-pat',
      description: 'GitHub fine-grained personal access token',
      regex: '\\b(github_pat_[A-Za-z0-9_]{82})\\b',
      keywords: ['github_pat_'],
      entropy: 3,
    },
    {
      id: 'slack-token',
      description: 'Slack token (bot, user, app or refresh)',
      regex: '\\b(xox[abprse]-[0-9A-Za-z-]{10,})\\b',
      keywords: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxr-', 'xoxs-', 'xoxe-'],
    },
    {
      id: 'slack-webhook-url',
      description: 'Slack incoming webhook URL',
      regex: '(https://hooks\\.slack\\.com/(?:services|workflows)/[A-Za-z0-9+/]{20,})',
      keywords: ['hooks.slack.com'],
    },
    {
      id: 'private-key',
      description: 'Private key block',
      regex: '(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)',
      keywords: ['private key'],
      blockEnd: '-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----',
    },
    {
      id: 'generic-secret',
      description: 'High-entropy value assigned to a password, secret, token or API key',
      regex:
        '(?:password|passwd|pwd|secret|token|api_?key|apikey|api-key|access_?key|client_?secret|auth)[A-Za-z0-9_.-]*["\']?\\s*(?::|=|:=|=>|==)\\s*["\'`]([^"\'`\\s]{8,200})["\'`]',
      caseInsensitive: true,
      keywords: [
        'password',
        'passwd',
        'pwd',
        'secret',
        'token',
        'api_key',
        'apikey',
        'api-key',
        'access_key',
        'accesskey',
        'auth',
      ],
      entropy: 3.5,
    },
  ],
};

/** The default bundle, parsed (a bad rule fails at load, naming the rule). */
export const defaultSecretRules: SecretRuleBundle = SecretRuleBundle.parse(DEFAULT_RULES);
