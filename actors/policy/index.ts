// Policy checks on candidate patches (issue 14): so far the secret scanner.
export { defaultSecretRules } from './rules.ts';
export { redactionMarker, redactText, type SecretScan, scanDiff, shannonEntropy } from './secrets.ts';
export { secretsCritique, secretsData, secretsNote } from './critique.ts';
