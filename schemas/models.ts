// Model settings per org and role as the actors read them (`models.<org>` on the blackboard), written by the
// gateway's `POST /v1/config/models`. API keys are only ever here sealed (AES-256-GCM, actors/llm/secret-box.ts).
import { z } from 'zod';
import { CandidateDefaults } from './candidate.ts';
import { OrgQuota } from './quota.ts';

export const StoredModelSetting = z
  .object({
    baseUrl: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    /** `v1:<iv>:<tag>:<ciphertext>`, additional data `models:<org>:<role>`. */
    apiKeySealed: z.string().min(1).optional(),
    priceInPer1k: z.number().min(0).optional(),
    priceOutPer1k: z.number().min(0).optional(),
    /** `local`: the embedded model on the GGUF file `path` (under the operator's CODEMESH_LOCAL_MODEL_DIRS). */
    provider: z.enum(['openai', 'local']).optional(),
    path: z.string().min(1).optional(),
  })
  .strict();
export type StoredModelSetting = z.infer<typeof StoredModelSetting>;

/** `models.<org>`: last-writer-wins under compare-and-set; only the gateway writes it. */
export const OrgModelSettings = z.object({
  org: z.string(),
  /** `default` applies to every role; a role's own entry wins field by field. */
  roles: z.record(z.string(), StoredModelSetting),
  /** k candidates for tasks that name none, and each candidate's Coder settings (model, temperature). */
  candidates: CandidateDefaults.optional(),
  /** Daily limits on the org's model spending, checked before every model call (actors/runtime/quota.ts). */
  quota: OrgQuota.optional(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type OrgModelSettings = z.infer<typeof OrgModelSettings>;

/** The additional data a role's sealed key is bound to: a sealed key copied to another place does not open. */
export const sealedKeyAad = (org: string, role: string) => `models:${org}:${role}`;

/** The org of tasks that name none (`codemesh run` without a gateway; tasks from before orgs were recorded). */
export const DEFAULT_ORG = 'default';
