import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchema } from 'fastify';

// Bodies are JSON: a wrong type is an error, never coerced ("2" is not a quantity). Query strings and path
// parameters are text by nature, so their numbers and booleans are coerced. Unknown properties are refused in
// both, never silently dropped.
const strict = { allErrors: true, removeAdditional: false, useDefaults: false, strict: false } as const;
const bodies = new Ajv({ ...strict, coerceTypes: false });
const urls = new Ajv({ ...strict, coerceTypes: true });

export function validatorCompiler({
  schema,
  httpPart,
}: {
  schema: FastifySchema;
  httpPart?: string;
}): ValidateFunction {
  return (httpPart === 'body' ? bodies : urls).compile(schema as object);
}
