import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkBackward } from '../../../schemas/compatibility.js';

type Field = avro.schema.RecordType['fields'][number];

const record = (fields: Field[], name = 'OrderAccepted'): avro.schema.RecordType => ({
  type: 'record',
  name,
  namespace: 'ledgerline.ordering',
  fields,
});

const v1 = record([
  { name: 'orderId', type: 'string' },
  { name: 'acceptedAt', type: 'string' },
]);

describe('checkBackward (data written with the previous schema can be read with the next)', () => {
  it('accepts an unchanged schema', () => {
    expect(checkBackward(v1, v1)).toEqual({ compatible: true });
  });

  it('accepts a new field that has a default', () => {
    const next = record([...v1.fields, { name: 'acceptedBy', type: 'string', default: 'restaurant' }]);

    expect(checkBackward(next, v1)).toEqual({ compatible: true });
  });

  it('accepts a new optional field defaulting to null', () => {
    const next = record([...v1.fields, { name: 'note', type: ['null', 'string'], default: null }]);

    expect(checkBackward(next, v1).compatible).toBe(true);
  });

  it('refuses a new field without a default, naming the field in the reason', () => {
    const next = record([...v1.fields, { name: 'acceptedBy', type: 'string' }]);

    const result = checkBackward(next, v1);

    expect(result.compatible).toBe(false);
    expect(result.reason).toContain('acceptedBy');
  });

  it('accepts a removed field', () => {
    const next = record([{ name: 'orderId', type: 'string' }]);

    expect(checkBackward(next, v1)).toEqual({ compatible: true });
  });

  it('accepts promoting an int field to long', () => {
    const previous = record([{ name: 'quantity', type: 'int' }]);
    const next = record([{ name: 'quantity', type: 'long' }]);

    expect(checkBackward(next, previous)).toEqual({ compatible: true });
  });

  it('refuses narrowing a long field to int', () => {
    const previous = record([{ name: 'totalMinor', type: 'long' }]);
    const next = record([{ name: 'totalMinor', type: 'int' }]);

    expect(checkBackward(next, previous).compatible).toBe(false);
  });

  it('refuses changing a string field to int, with a reason', () => {
    const previous = record([{ name: 'quantity', type: 'string' }]);
    const next = record([{ name: 'quantity', type: 'int' }]);

    const result = checkBackward(next, previous);

    expect(result.compatible).toBe(false);
    expect(result.reason).toEqual(expect.any(String));
  });

  it('refuses renaming the record without an alias', () => {
    expect(checkBackward(record(v1.fields, 'OrderTaken'), v1).compatible).toBe(false);
  });

  it('accepts renaming the record when the new name keeps the old one as an alias', () => {
    const next: avro.schema.RecordType = {
      ...record(v1.fields, 'OrderTaken'),
      aliases: ['ledgerline.ordering.OrderAccepted'],
    };

    expect(checkBackward(next, v1).compatible).toBe(true);
  });

  it('refuses a schema that is not valid Avro instead of throwing', () => {
    const broken = record([{ name: 'orderId', type: 'no-such-type' }]);

    expect(checkBackward(broken, v1).compatible).toBe(false);
  });
});
