import { invalidParam } from './errors.js';
import type { FormObject } from './form.js';

// Parameter checks with Stripe's codes and wording, so a client mistake shows up here as it would at Stripe
// (an unknown parameter is refused, not ignored).

export function allowOnly(params: FormObject, allowed: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (name !== 'expand' && !allowed.includes(name)) {
      throw invalidParam(`Received unknown parameter: ${name}`, name, 'parameter_unknown');
    }
  }
}

export function optionalString(params: FormObject, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw invalidParam(`Invalid string: ${name} must be a string`, name, 'parameter_invalid_string');
  }
  return value;
}

export function requiredString(params: FormObject, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined || value === '') {
    throw invalidParam(`Missing required param: ${name}.`, name, 'parameter_missing');
  }
  return value;
}

/** A positive whole number of minor units. */
export function optionalAmount(params: FormObject, name: string): number | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw invalidParam(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
  }
  const amount = Number(value);
  if (amount < 1 || !Number.isSafeInteger(amount)) {
    throw invalidParam(`This value must be greater than or equal to 1.`, name, 'parameter_invalid_integer');
  }
  return amount;
}

export function requiredAmount(params: FormObject, name: string): number {
  const value = optionalAmount(params, name);
  if (value === undefined) throw invalidParam(`Missing required param: ${name}.`, name, 'parameter_missing');
  return value;
}

export function optionalBoolean(params: FormObject, name: string): boolean | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') {
    throw invalidParam(`Invalid boolean: ${value}`, name, 'parameter_invalid_boolean');
  }
  return value === 'true';
}

export function optionalEnum<T extends string>(params: FormObject, name: string, values: readonly T[]): T | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  const found = values.find((candidate) => candidate === value);
  if (found === undefined) {
    throw invalidParam(`Invalid ${name}: must be one of ${values.join(', ')}`, name, 'parameter_invalid_string');
  }
  return found;
}

/** `metadata[key]=value` pairs; Stripe allows only string values one level deep. */
export function metadata(params: FormObject, name = 'metadata'): Record<string, string> {
  const value = params[name];
  if (value === undefined || value === '') return {};
  if (typeof value === 'string' || Array.isArray(value)) {
    throw invalidParam(`Invalid object: ${name} must be a hash`, name, 'parameter_invalid_string');
  }
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw invalidParam(
        `Invalid string: ${name}[${key}] must be a string`,
        `${name}[${key}]`,
        'parameter_invalid_string',
      );
    }
    result[key] = entry;
  }
  return result;
}

export function optionalStringList(params: FormObject, name: string): string[] | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw invalidParam(`Invalid array: ${name} must be a list of strings`, name, 'parameter_invalid_string');
  }
  return value as string[];
}
