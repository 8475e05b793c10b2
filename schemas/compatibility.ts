import avro from 'avsc';

export interface CompatibilityResult {
  readonly compatible: boolean;
  readonly reason?: string;
}

/**
 * BACKWARD compatibility, as the registry checks it: data written with `previous` can be read with `next`
 * (added fields need defaults; removed fields are fine; type changes only by Avro promotion).
 */
export function checkBackward(next: avro.Schema, previous: avro.Schema): CompatibilityResult {
  try {
    const reader = avro.Type.forSchema(next);
    const writer = avro.Type.forSchema(previous);
    reader.createResolver(writer);
    return { compatible: true };
  } catch (error) {
    return { compatible: false, reason: (error as Error).message };
  }
}
