// Policy checks on candidate patches (issue 14): secrets, SAST, licenses and vulnerabilities, by policy bundle.
export { defaultSecretRules } from './rules.ts';
export { redactionMarker, redactText, type SecretScan, scanDiff, shannonEntropy } from './secrets.ts';
export {
  blockingRuleIds,
  policyCritique,
  policyData,
  policyNote,
  policyRisks,
  secretsCritique,
  secretsData,
  secretsNote,
} from './critique.ts';
export {
  defaultPolicyBundle,
  extendDefaultBundle,
  loadPolicyBundle,
  mergeBundles,
  orgPolicyPath,
  PolicyBundleError,
  parseBundleFile,
  REPO_POLICY_FILE,
} from './bundle.ts';
export { checkPatch, type PolicyCheckInput } from './check.ts';
export { checkLicense, spdxOf } from './licenses.ts';
export { advisoriesFor, compareVersions, importOsvBundle, loadOsv, osvPath } from './osv.ts';
export { scanSource } from './sast.ts';
export { purlOf, sbomOf } from './sbom.ts';
