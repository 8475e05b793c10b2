import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutSecrets, generateSecrets, useCheckoutSecrets } from '../../ops/secrets.js';
import { loadConfig } from '../../runtime/config.js';

// The quick start's secrets (issue 12): generated once per checkout, kept private, reused, never overriding the
// environment; and strong enough for loadConfig, production rules included.

const scratch = () => join(mkdtempSync(join(tmpdir(), 'll-secrets-')), '.stack', 'secrets.env');

describe('checkout secrets', () => {
  it('generates both on the first start into a file only its owner can read, then reuses them', () => {
    const file = scratch();
    const first = checkoutSecrets(file);
    expect(first.generated).toEqual(['JWT_SECRET', 'STRIPE_WEBHOOK_SECRET']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = checkoutSecrets(file);
    expect(second).toEqual({ values: first.values, generated: [] });
  });

  it('adds a secret the file lacks and keeps the others', () => {
    const file = scratch();
    const { values } = checkoutSecrets(file);
    writeFileSync(file, `JWT_SECRET=${values.JWT_SECRET}\n`, { mode: 0o644 });
    const again = checkoutSecrets(file);
    expect(again.generated).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(again.values.JWT_SECRET).toBe(values.JWT_SECRET);
    expect(readFileSync(file, 'utf8')).toContain(`STRIPE_WEBHOOK_SECRET=${again.values.STRIPE_WEBHOOK_SECRET}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('never overrides a secret the environment sets, and touches no file when both are set', () => {
    const file = scratch();
    const env: NodeJS.ProcessEnv = { JWT_SECRET: 'from-the-environment-and-long-enough-for-it' };
    expect(useCheckoutSecrets(env, file)).toEqual({
      fromFile: ['STRIPE_WEBHOOK_SECRET'],
      generated: ['STRIPE_WEBHOOK_SECRET'],
    });
    expect(env.JWT_SECRET).toBe('from-the-environment-and-long-enough-for-it');
    expect(env.STRIPE_WEBHOOK_SECRET).toMatch(/^whsec_/);
    const untouched = scratch();
    expect(useCheckoutSecrets({ JWT_SECRET: 'x', STRIPE_WEBHOOK_SECRET: 'y' }, untouched)).toEqual({
      fromFile: [],
      generated: [],
    });
    expect(() => statSync(untouched)).toThrow();
  });

  it('generates values loadConfig takes, in production too, and different ones every time', () => {
    const a = generateSecrets();
    const b = generateSecrets();
    expect(a.JWT_SECRET).not.toBe(b.JWT_SECRET);
    expect(a.STRIPE_WEBHOOK_SECRET).not.toBe(b.STRIPE_WEBHOOK_SECRET);
    const config = loadConfig({ ...a, NODE_ENV: 'production' });
    expect(config.jwtSecret).toBe(a.JWT_SECRET);
    expect(config.stripeWebhookSecret).toBe(a.STRIPE_WEBHOOK_SECRET);
  });
});
