// Test helper: does an answer of the gateway conform to its OpenAPI document (status listed, body fits)?
import { z } from 'zod';

export type Operation = {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
export type Doc = { paths: Record<string, Record<string, Operation>> };

/** `/v1/tasks/:id` → `/v1/tasks/{id}`; a trailing `*` (the console's files) → `{file}`. */
export const templateOf = (honoPath: string) =>
  honoPath.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\/\*$/, '/{file}');

/** The documented operation answering `method path`, by the document's path templates. */
function operationFor(
  doc: Doc,
  method: string,
  path: string,
): { template: string; op: Operation } | undefined {
  const bare = path.split('?')[0]!;
  // Literal templates first: `/v1/repos/index` is not `/v1/repos/{id}`.
  const templates = Object.keys(doc.paths).sort((a, b) => a.split('{').length - b.split('{').length);
  for (const template of templates) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = doc.paths[template]?.[method.toLowerCase()];
    if (op && re.test(bare)) return { template, op };
  }
  return undefined;
}

/** Why an answer does not conform to the document, or undefined when it does. */
export function nonConformance(
  doc: Doc,
  method: string,
  path: string,
  status: number,
  body: unknown,
): string | undefined {
  const found = operationFor(doc, method, path);
  if (!found) return `${method} ${path}: no operation in the document`;
  const response = found.op.responses[String(status)];
  if (!response)
    return `${method} ${found.template} answered ${status}; documented: ${Object.keys(found.op.responses).join(', ')}`;
  const schema = response.content?.['application/json']?.schema;
  if (schema === undefined || body === undefined) return undefined;
  const checked = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(body);
  return checked.success
    ? undefined
    : `${method} ${found.template} ${status}: body does not fit the schema: ${checked.error.message.slice(0, 600)}`;
}
