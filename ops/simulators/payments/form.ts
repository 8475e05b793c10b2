// Stripe's v1 API takes application/x-www-form-urlencoded bodies with bracketed keys, as the SDK writes them:
// `metadata[paymentId]=p-1&payment_method_types[0]=card`. This turns them back into nested values.

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

// Keys that would reach Object.prototype through a plain object; a request naming them is refused as unknown.
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export class FormError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
    this.name = 'FormError';
  }
}

export function parseForm(encoded: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(encoded)) {
    const path = splitKey(key);
    let container: FormObject = root;
    for (const [index, raw] of path.entries()) {
      // `a[]=x&a[]=y` appends: an empty segment takes the next free index of its container.
      const segment = raw === '' ? String(Object.keys(container).length) : raw;
      if (index === path.length - 1) {
        container[segment] = value;
        break;
      }
      const next = container[segment];
      if (next === undefined || typeof next === 'string' || Array.isArray(next)) {
        const created: FormObject = {};
        container[segment] = created;
        container = created;
      } else {
        container = next;
      }
    }
  }
  return arraysFromIndexes(root) as FormObject;
}

function splitKey(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (match === null) throw new FormError(`Invalid parameter name: ${key}`, key);
  const segments = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
  if (segments.some((segment) => FORBIDDEN.has(segment))) {
    throw new FormError(`Received unknown parameter: ${key}`, key);
  }
  return segments;
}

/** Objects whose keys are all integers were arrays on the client (`expand[0]`, `expand[]`). */
function arraysFromIndexes(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const converted: FormObject = {};
  for (const key of keys) converted[key] = arraysFromIndexes(value[key]!);
  if (keys.length > 0 && keys.every((key) => /^\d+$/.test(key))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((index) => converted[String(index)]!);
  }
  return converted;
}

/** A stable text for a parsed request: the same parameters in any order give the same text. */
export function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key]!)}`).join(',')}}`;
}
