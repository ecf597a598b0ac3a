// Narrows a JSON Schema (as `z.toJSONSchema` writes it) to the subset node-llama-cpp turns into a grammar
// (its `GbnfJsonSchema`): types, properties, items, enum/const, oneOf, string and array lengths, $defs/$ref.
// What the grammar cannot express (patterns, numeric bounds, refinements) is left to the caller's own check
// of the answer, which sends a failing answer back to the model with the reason, as for any model.

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Bounds above these are left to the caller's check: llama.cpp's grammar parser refuses a grammar whose
 * repetitions multiply past its limits (a plan's `{1,2000}` strings inside `{0,29}` subtasks do).
 */
const MAX_GRAMMAR_LENGTH = 256;
const MAX_GRAMMAR_ITEMS = 8;
const BASIC = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Stands for "any value" (the grammar has no such thing): a scalar of any kind. */
const ANY_SCALAR: Json = { type: ['string', 'number', 'boolean', 'null'] };

/**
 * @example
 * toGbnfJsonSchema(z.toJSONSchema(ReviewVerdict)) // { type: 'object', properties: { ... } }
 */
export function toGbnfJsonSchema(schema: unknown, depth = 0): Json {
  if (depth > 32 || !isObj(schema)) return ANY_SCALAR;
  const out: Json = {};
  if (isObj(schema.$defs)) {
    const defs: Json = {};
    for (const [k, v] of Object.entries(schema.$defs)) defs[k] = toGbnfJsonSchema(v, depth + 1);
    out.$defs = defs;
  }
  if (typeof schema.description === 'string') out.description = schema.description;
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/$defs/'))
    return { ...out, $ref: schema.$ref };
  if ('const' in schema) return { ...out, const: schema.const };
  if (Array.isArray(schema.enum)) return { ...out, enum: schema.enum };
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alternatives))
    return { ...out, oneOf: alternatives.map((s) => toGbnfJsonSchema(s, depth + 1)) };
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1)
    return toGbnfJsonSchema(schema.allOf[0], depth + 1);
  const type = schema.type;
  if (type === 'object' || (type === undefined && isObj(schema.properties))) {
    const props: Json = {};
    for (const [k, v] of Object.entries(isObj(schema.properties) ? schema.properties : {}))
      props[k] = toGbnfJsonSchema(v, depth + 1);
    out.type = 'object';
    out.properties = props;
    const extra = schema.additionalProperties;
    if (isObj(extra)) out.additionalProperties = toGbnfJsonSchema(extra, depth + 1);
    else if (extra === true || (extra === undefined && Object.keys(props).length === 0))
      out.additionalProperties = ANY_SCALAR;
    else out.additionalProperties = false;
    return out;
  }
  if (type === 'array') {
    out.type = 'array';
    out.items = schema.items === undefined ? ANY_SCALAR : toGbnfJsonSchema(schema.items, depth + 1);
    if (Array.isArray(schema.prefixItems))
      out.prefixItems = schema.prefixItems.map((s) => toGbnfJsonSchema(s, depth + 1));
    if (typeof schema.minItems === 'number' && schema.minItems <= MAX_GRAMMAR_ITEMS)
      out.minItems = schema.minItems;
    if (typeof schema.maxItems === 'number' && schema.maxItems <= MAX_GRAMMAR_ITEMS)
      out.maxItems = schema.maxItems;
    return out;
  }
  if (type === 'string') {
    out.type = 'string';
    if (typeof schema.minLength === 'number' && schema.minLength <= MAX_GRAMMAR_LENGTH)
      out.minLength = schema.minLength;
    if (typeof schema.maxLength === 'number' && schema.maxLength <= MAX_GRAMMAR_LENGTH)
      out.maxLength = schema.maxLength;
    return out;
  }
  if (typeof type === 'string' && BASIC.has(type)) return { ...out, type };
  if (Array.isArray(type) && type.every((t) => typeof t === 'string' && BASIC.has(t)))
    return { ...out, type };
  return { ...out, ...ANY_SCALAR };
}
