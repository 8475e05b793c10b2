import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MoneyInvariantError } from '../../../projections/marketplace/money/errors.js';
import { MONEY_PROJECTION, moneyReadModel, moneyTables } from '../../../projections/marketplace/money.js';
import { postgresProjection } from '../../../projections/runtime/postgres.js';
import { postgresRebuildTarget } from '../../../projections/runtime/rebuild.js';
import { ensureRuntimeTables } from '../../../projections/runtime/tables.js';
import { MoneyQueries } from '../../../queries/marketplace/money.js';
import { isPoison } from '../../../runtime/consumer/failures.js';
import type { BatchSource, ProjectedEvent } from '../../../runtime/consumer/types.js';
import { connect } from '../../../runtime/postgres.js';
import { createTestDatabase } from '../../support/env.js';
import { choiceArb, type LoggedEvent, MoneyWorld } from '../../unit/marketplace/money-world.js';

// The money read model on a real PostgreSQL, fed hand-built batches through the runtime's PostgreSQL wrapper (as
// the projector feeds it) and, for redelivery, straight through its apply: the escrow, wallet and ledger tables,
// read back through MoneyQueries. Last, random logs (money-world.ts) in random batches with redeliveries, and a
// rebuild from the log in order, which must make the same tables.

let db: Knex;
let drop: () => Promise<void>;
const VERSION = 1;
const model = () => moneyReadModel(VERSION);
const projection = () => postgresProjection(db, model());
const queries = () => new MoneyQueries(db, async () => VERSION);

beforeAll(async () => {
  const database = await createTestDatabase('money');
  drop = database.drop;
  db = connect(database.url, { max: 4 });
  await ensureRuntimeTables(db);
  await projection().setup();
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

let position = 0;
const base = Date.parse('2026-06-01T12:00:00.000Z');
const versions = new Map<string, number>();
/** The next event of a stream, as the relay would put it on Kafka (each stream's versions in order). */
const event = (streamId: string, eventType: string, data: Record<string, unknown>): ProjectedEvent => {
  position++;
  const streamVersion = (versions.get(streamId) ?? 0) + 1;
  versions.set(streamId, streamVersion);
  return {
    eventId: randomUUID(),
    eventType,
    streamId,
    streamVersion,
    globalPosition: position,
    recordedAt: new Date(base + position * 1000).toISOString(),
    correlationId: randomUUID(),
    data,
  } satisfies ProjectedEvent;
};
const at = new Date(base).toISOString();
const source: BatchSource = { topic: 'marketplace.escrow', partition: 0, lastOffset: '0' };
const apply = (events: readonly ProjectedEvent[]) => projection().applyBatch(events, source);

/** A contract's cast and its event makers: the escrow stream and the worker's wallet stream. */
function contract(milestones: readonly number[], feeBps = 1000) {
  const id = randomUUID();
  const hirerId = `h-${id}`;
  const workerId = `w-${id}`;
  const amountMinor = milestones.reduce((s, m) => s + m, 0);
  const escrow = (type: string, data: Record<string, unknown>) =>
    event(`escrow-${id}`, type, { contractId: id, ...data });
  const wallet = (type: string, data: Record<string, unknown>) =>
    event(`wallet-${workerId}`, type, { workerId, ...data });
  const fee = (gross: number) => Math.floor((gross * feeBps) / 10_000);
  return {
    id,
    hirerId,
    workerId,
    amountMinor,
    opened: () =>
      escrow('EscrowOpened', {
        hirerId,
        workerId,
        amountMinor,
        currency: 'EUR',
        feeBps,
        milestones: milestones.map((amount, i) => ({ milestoneId: `m${i + 1}`, amountMinor: amount })),
        fundBy: at,
        openedAt: at,
      }),
    fundingRequested: (attempt: number) =>
      escrow('EscrowFundingRequested', {
        attempt,
        paymentMethod: 'pm_card_visa',
        requestedBy: hirerId,
        requestedAt: at,
      }),
    declined: (attempt: number) =>
      escrow('EscrowFundingDeclined', { attempt, reason: 'card_declined', declinedAt: at }),
    funded: (attempt = 1) =>
      escrow('EscrowFunded', { attempt, chargeRef: `pi_${id}`, amountMinor, currency: 'EUR', fundedAt: at }),
    releasing: (m: number) => {
      const gross = milestones[m - 1]!;
      const data = { milestoneId: `m${m}`, releaseId: `${id}:m${m}`, grossMinor: gross, feeMinor: fee(gross) };
      return escrow('MilestoneReleasing', { ...data, netMinor: gross - fee(gross), startedAt: at });
    },
    released: (m: number) => {
      const gross = milestones[m - 1]!;
      return escrow('MilestoneReleased', {
        milestoneId: `m${m}`,
        releaseId: `${id}:m${m}`,
        workerId,
        grossMinor: gross,
        feeMinor: fee(gross),
        netMinor: gross - fee(gross),
        currency: 'EUR',
        transferRef: `tr_${m}`,
        releasedAt: at,
      });
    },
    disputed: (m: number) =>
      escrow('DisputeOpened', {
        milestoneId: `m${m}`,
        openedBy: hirerId,
        reason: 'the tiles are crooked',
        heldMinor: milestones[m - 1]!,
        openedAt: at,
      }),
    evidence: (m: number, by: string, note: string) =>
      escrow('DisputeEvidenceAdded', { milestoneId: `m${m}`, addedBy: by, note, addedAt: at }),
    resolved: (m: number, workerMinor: number) =>
      escrow('DisputeResolved', {
        milestoneId: `m${m}`,
        resolvedBy: 'admin-1',
        workerMinor,
        hirerRefundMinor: milestones[m - 1]! - workerMinor,
        feeMinor: fee(workerMinor),
        note: 'split as agreed on the call',
        resolvedAt: at,
      }),
    settled: (m: number, workerMinor: number) =>
      escrow('DisputeSettled', {
        milestoneId: `m${m}`,
        workerId,
        workerNetMinor: workerMinor - fee(workerMinor),
        feeMinor: fee(workerMinor),
        hirerRefundMinor: milestones[m - 1]! - workerMinor,
        currency: 'EUR',
        transferRef: 'tr_dispute',
        refundRef: 're_dispute',
        settledAt: at,
      }),
    refunding: (ms: readonly number[]) =>
      escrow('EscrowRefunding', {
        refundId: `${id}:refund:1`,
        milestoneIds: ms.map((m) => `m${m}`),
        amountMinor: ms.reduce((s, m) => s + milestones[m - 1]!, 0),
        reason: 'contract cancelled',
        startedAt: at,
      }),
    refunded: (ms: readonly number[]) =>
      escrow('EscrowRefunded', {
        refundId: `${id}:refund:1`,
        hirerId,
        milestoneIds: ms.map((m) => `m${m}`),
        amountMinor: ms.reduce((s, m) => s + milestones[m - 1]!, 0),
        currency: 'EUR',
        refundRef: 're_1',
        refundedAt: at,
      }),
    walletOpened: () => wallet('WalletOpened', { accountRef: `acct_${workerId}`, currency: 'EUR', openedAt: at }),
    credited: (m: number, sourceId: string, amountMinor: number) =>
      wallet('WalletCredited', {
        contractId: id,
        milestoneId: `m${m}`,
        sourceId,
        amountMinor,
        currency: 'EUR',
        creditedAt: new Date(base + position * 1000).toISOString(),
      }),
    payoutRequested: (payoutId: string, amountMinor: number) =>
      wallet('PayoutRequested', {
        payoutId,
        amountMinor,
        currency: 'EUR',
        requestedAt: new Date(base + position * 1000).toISOString(),
      }),
    payoutSent: (payoutId: string, amountMinor: number) =>
      wallet('PayoutSent', { payoutId, payoutRef: `po_${payoutId}`, amountMinor, sentAt: at }),
    payoutPaid: (payoutId: string, amountMinor: number) =>
      wallet('PayoutPaid', { payoutId, payoutRef: `po_${payoutId}`, amountMinor, paidAt: at }),
    payoutFailed: (payoutId: string, amountMinor: number) =>
      wallet('PayoutFailed', { payoutId, amountMinor, reason: 'account_closed', failedAt: at }),
  };
}

const balanceOf = async (account: string) =>
  (await queries().balances(account)).find((b) => b.account === account)?.balanceMinor ?? 0;

describe('the money read model', () => {
  it('follows a contract funded after a decline and released milestone by milestone into the worker’s wallet', async () => {
    const c = contract([4_000, 6_000]);
    await apply([c.opened(), c.fundingRequested(1), c.declined(1)]);
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'FUNDING_DECLINED',
      fundingAttempts: 1,
      lastDeclineReason: 'card_declined',
      totals: { fundedMinor: 0, heldMinor: 0 },
      milestones: [{ state: 'AWAITING_FUNDS' }, { state: 'AWAITING_FUNDS' }],
    });
    await apply([c.fundingRequested(2), c.funded(2)]);
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'FUNDED',
      chargeRef: `pi_${c.id}`,
      fundingAttempts: 2,
      totals: { fundedMinor: 10_000, heldMinor: 10_000, releasedMinor: 0 },
    });
    // Funded, nothing released: the worker sees it all pending, nothing available yet.
    expect(await queries().wallet(c.workerId)).toMatchObject({
      accountRef: null,
      currency: 'EUR',
      availableMinor: 0,
      pendingMinor: 10_000,
    });
    await apply([c.releasing(1), c.released(1)]);
    // Released but not yet credited: on its way, not available.
    expect(await queries().wallet(c.workerId)).toMatchObject({
      availableMinor: 0,
      pendingMinor: 6_000,
      inTransitMinor: 3_600,
    });
    await apply([c.walletOpened(), c.credited(1, `${c.id}:m1`, 3_600)]);
    await apply([c.released(2), c.credited(2, `${c.id}:m2`, 5_400)]); // straight from HELD: no intent recorded
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'CLOSED',
      totals: { fundedMinor: 10_000, heldMinor: 0, releasedMinor: 9_000, refundedMinor: 0, feesMinor: 1_000 },
      milestones: [
        {
          milestoneId: 'm1',
          state: 'RELEASED',
          grossMinor: 4_000,
          feeMinor: 400,
          netMinor: 3_600,
          transferRef: 'tr_1',
        },
        { milestoneId: 'm2', state: 'RELEASED', grossMinor: 6_000, feeMinor: 600, netMinor: 5_400 },
      ],
    });
    expect(await queries().wallet(c.workerId)).toMatchObject({
      accountRef: `acct_${c.workerId}`,
      availableMinor: 9_000,
      pendingMinor: 0,
      inTransitMinor: 0,
      inFlightMinor: 0,
      paidOutMinor: 0,
      payoutInFlight: null,
    });
    expect((await queries().wallet(c.workerId))!.history.map((h) => [h.kind, h.amountMinor])).toEqual([
      ['credit', 5_400],
      ['credit', 3_600],
    ]);
    expect(await balanceOf(`hirer:${c.hirerId}`)).toBe(-10_000);
    expect(await balanceOf(`escrow:${c.id}`)).toBe(0);
    const ledger = await queries().ledger({ contractId: c.id, limit: 10 });
    expect(ledger.entries.map((e) => e.eventType)).toEqual([
      'WalletCredited',
      'MilestoneReleased',
      'WalletCredited',
      'MilestoneReleased',
      'EscrowFunded',
    ]);
    expect(ledger.entries.at(-1)!.postings).toEqual([
      { account: `escrow:${c.id}`, amountMinor: 10_000, currency: 'EUR' },
      { account: `hirer:${c.hirerId}`, amountMinor: -10_000, currency: 'EUR' },
    ]);
    for (const entry of ledger.entries) expect(entry.postings.reduce((s, p) => s + p.amountMinor, 0)).toBe(0);
    expect(ledger.nextBefore).toBeNull();
  });

  it('splits a disputed milestone 70/30: the worker gets 70% less the fee, the hirer 30% back, evidence kept', async () => {
    const c = contract([10_000]);
    await apply([c.opened(), c.fundingRequested(1), c.funded()]);
    await apply([
      c.disputed(1),
      c.evidence(1, c.hirerId, 'photo of the crooked tiles'),
      c.evidence(1, c.workerId, 'the hirer chose those tiles'),
    ]);
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'FUNDED',
      totals: { heldMinor: 10_000 },
      milestones: [{ state: 'DISPUTED' }],
      disputes: [{ milestoneId: 'm1', status: 'OPEN', heldMinor: 10_000, resolution: null }],
    });
    expect((await queries().wallet(c.workerId))!.pendingMinor).toBe(10_000); // still undecided
    await apply([c.resolved(1, 7_000)]);
    expect((await queries().wallet(c.workerId))!.pendingMinor).toBe(7_000); // the worker's part, before the fee
    await apply([c.settled(1, 7_000), c.walletOpened(), c.credited(1, `dispute:${c.id}:m1`, 6_300)]);
    const escrow = await queries().escrow(c.id);
    expect(escrow).toMatchObject({
      status: 'CLOSED',
      totals: { fundedMinor: 10_000, heldMinor: 0, releasedMinor: 6_300, refundedMinor: 3_000, feesMinor: 700 },
      milestones: [{ state: 'SETTLED', grossMinor: 7_000, feeMinor: 700, netMinor: 6_300, refundedMinor: 3_000 }],
    });
    expect(escrow!.disputes).toEqual([
      {
        milestoneId: 'm1',
        status: 'SETTLED',
        openedBy: c.hirerId,
        reason: 'the tiles are crooked',
        heldMinor: 10_000,
        openedAt: at,
        resolution: {
          resolvedBy: 'admin-1',
          workerMinor: 7_000,
          hirerRefundMinor: 3_000,
          feeMinor: 700,
          note: 'split as agreed on the call',
          resolvedAt: at,
        },
        settledAt: at,
        evidence: [
          { addedBy: c.hirerId, note: 'photo of the crooked tiles', addedAt: at },
          { addedBy: c.workerId, note: 'the hirer chose those tiles', addedAt: at },
        ],
      },
    ]);
    expect(await balanceOf(`hirer:${c.hirerId}`)).toBe(-7_000);
    expect(await balanceOf(`wallet:${c.workerId}`)).toBe(6_300);
    const [settled] = (await queries().ledger({ contractId: c.id, limit: 10 })).entries
      .filter((e) => e.eventType === 'DisputeSettled')
      .map((e) => e.postings);
    expect(settled).toEqual(
      expect.arrayContaining([
        { account: `escrow:${c.id}`, amountMinor: -10_000, currency: 'EUR' },
        { account: `in-transit:${c.workerId}`, amountMinor: 6_300, currency: 'EUR' },
        { account: 'fees', amountMinor: 700, currency: 'EUR' },
        { account: `hirer:${c.hirerId}`, amountMinor: 3_000, currency: 'EUR' },
      ]),
    );
  });

  it('refunds the held milestones of a cancelled contract to the hirer, after one was released', async () => {
    const c = contract([2_000, 3_000, 5_000]);
    await apply([c.opened(), c.fundingRequested(1), c.funded(), c.releasing(1), c.released(1)]);
    await apply([c.refunding([2, 3])]);
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'FUNDED',
      totals: { heldMinor: 8_000 },
      milestones: [{ state: 'RELEASED' }, { state: 'REFUNDING' }, { state: 'REFUNDING' }],
    });
    expect((await queries().wallet(c.workerId))!.pendingMinor).toBe(0); // on its way back to the hirer
    await apply([c.refunded([2, 3])]);
    expect(await queries().escrow(c.id)).toMatchObject({
      status: 'CLOSED',
      totals: { fundedMinor: 10_000, heldMinor: 0, releasedMinor: 1_800, refundedMinor: 8_000, feesMinor: 200 },
      milestones: [
        { state: 'RELEASED' },
        { state: 'REFUNDED', refundedMinor: 3_000, refundRef: 're_1' },
        { state: 'REFUNDED', refundedMinor: 5_000 },
      ],
    });
    expect(await balanceOf(`hirer:${c.hirerId}`)).toBe(-2_000);
    expect(await balanceOf(`escrow:${c.id}`)).toBe(0);
  });

  it('reserves a payout, moves it to the bank when paid, and gives a failed one back to the wallet', async () => {
    const c = contract([10_000]);
    await apply([c.opened(), c.funded(), c.released(1), c.walletOpened(), c.credited(1, `${c.id}:m1`, 9_000)]);
    await apply([c.payoutRequested('p1', 5_000)]);
    expect(await queries().wallet(c.workerId)).toMatchObject({
      availableMinor: 4_000,
      inFlightMinor: 5_000,
      payoutInFlight: { payoutId: 'p1', amountMinor: 5_000, status: 'REQUESTED', currency: 'EUR' },
    });
    await apply([c.payoutSent('p1', 5_000)]);
    expect((await queries().wallet(c.workerId))!.payoutInFlight).toMatchObject({ status: 'SENT', payoutRef: 'po_p1' });
    await apply([c.payoutPaid('p1', 5_000)]);
    expect(await queries().wallet(c.workerId)).toMatchObject({
      availableMinor: 4_000,
      inFlightMinor: 0,
      paidOutMinor: 5_000,
      payoutInFlight: null,
    });
    await apply([c.payoutRequested('p2', 4_000), c.payoutSent('p2', 4_000), c.payoutFailed('p2', 4_000)]);
    const wallet = await queries().wallet(c.workerId);
    expect(wallet).toMatchObject({
      availableMinor: 4_000,
      inFlightMinor: 0,
      paidOutMinor: 5_000,
      payoutInFlight: null,
    });
    expect(
      wallet!.history.map((h) => (h.kind === 'payout' ? [h.payoutId, h.status] : [h.kind, h.amountMinor])),
    ).toEqual([
      ['p2', 'FAILED'],
      ['p1', 'PAID'],
      ['credit', 9_000],
    ]);
    const ledger = await queries().ledger({ account: `wallet:${c.workerId}`, limit: 2 });
    expect(ledger.entries.map((e) => e.eventType)).toEqual(['PayoutFailed', 'PayoutRequested']);
    const older = await queries().ledger({ account: `wallet:${c.workerId}`, limit: 2, before: ledger.nextBefore! });
    expect(older.entries.map((e) => e.eventType)).toEqual(['PayoutRequested', 'WalletCredited']);
    expect(await balanceOf(`bank:${c.workerId}`)).toBe(5_000);
  });

  it('posts nothing twice when events are delivered again, through the runtime or straight to the model', async () => {
    const c = contract([3_000, 7_000]);
    const batch = [
      c.opened(),
      c.funded(),
      c.released(1),
      c.walletOpened(),
      c.credited(1, `${c.id}:m1`, 2_700),
      c.payoutRequested('p1', 2_000),
    ];
    await apply(batch);
    const snapshot = async () => ({
      entries: (await queries().ledger({ contractId: c.id, limit: 50 })).entries.length,
      wallet: await queries().wallet(c.workerId),
      escrow: await queries().escrow(c.id),
      balances: await queries().balances(`wallet:${c.workerId}`),
    });
    const before = await snapshot();
    await apply(batch); // the runtime skips the stream versions it has seen
    await db.transaction((trx) => model().apply(trx, batch)); // the model's own guard, without the runtime's
    await db.transaction((trx) => model().apply(trx, [batch[2]!, batch[4]!])); // a partial replay
    expect(await snapshot()).toEqual(before);
    expect(before.entries).toBe(3);
    expect(before.wallet).toMatchObject({ availableMinor: 700, inFlightMinor: 2_000 });
  });

  it('refuses an event that would unbalance the books: poison, nothing of its batch written', async () => {
    const c = contract([4_000]);
    await apply([c.opened(), c.funded()]);
    const bad = c.released(1);
    const wrong = { ...bad, data: { ...bad.data, netMinor: 3_500 } }; // 400 fee + 3,500 net ≠ 4,000 gross
    const error = await apply([wrong]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MoneyInvariantError);
    expect(error).toMatchObject({ code: 'MONEY_AMOUNT_INVALID' });
    expect(isPoison(error)).toBe(true); // dead-lettered with its reason, not retried forever
    expect(await queries().escrow(c.id)).toMatchObject({ status: 'FUNDED', milestones: [{ state: 'HELD' }] });
    expect((await queries().ledger({ contractId: c.id, limit: 10 })).entries).toHaveLength(1);
  });

  it('passes over an event type it does not know (added to the topic later) and applies what follows', async () => {
    const c = contract([1_000]);
    await apply([
      c.opened(),
      event(`escrow-${c.id}`, 'EscrowAudited', { contractId: c.id }),
      event(`wallet-${c.workerId}`, 'WalletRenamed', { workerId: c.workerId }),
      c.funded(),
    ]);
    expect(await queries().escrow(c.id)).toMatchObject({ status: 'FUNDED', version: 3 });
    expect(await queries().wallet(c.workerId)).toMatchObject({ accountRef: null, pendingMinor: 1_000 });
  });

  it('keeps the trial balance at zero, the balances table equal to the postings', async () => {
    const trial = await queries().trialBalance();
    expect(trial).toMatchObject({ balanced: true, totalMinor: 0, balancesMatchPostings: true, mismatches: [] });
    expect(trial.currencies.find((x) => x.currency === 'EUR')!.entries).toBeGreaterThan(10);
  });

  it('answers null for a worker and a contract it knows nothing of, and refuses a limit out of range', async () => {
    expect(await queries().wallet('nobody')).toBeNull();
    expect(await queries().escrow('nothing')).toBeNull();
    await expect(queries().ledger({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_MONEY_QUERY' });
    await expect(queries().ledger({ limit: 10, before: -1 })).rejects.toMatchObject({ code: 'INVALID_MONEY_QUERY' });
  });

  it('matches balances by a literal prefix: the underscore and percent in an account name are not wildcards', async () => {
    const all = await queries().balances('wallet:');
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((b) => b.account.startsWith('wallet:'))).toBe(true);
    expect(await queries().balances('wallet_')).toEqual([]);
    expect(await queries().balances('%')).toEqual([]);
  });
});

describe('the money read model — random logs', () => {
  const toProjected = (log: readonly LoggedEvent[], offset: number) => {
    const positions = new Map(log.map((e, i) => [e.eventId, offset + i + 1]));
    return (e: LoggedEvent): ProjectedEvent => ({
      eventId: e.eventId,
      eventType: e.event.type,
      streamId: e.streamId,
      streamVersion: e.streamVersion,
      globalPosition: positions.get(e.eventId)!,
      recordedAt: new Date(base + positions.get(e.eventId)! * 1000).toISOString(),
      correlationId: e.eventId,
      data: e.event.data as unknown as Record<string, unknown>,
    });
  };
  const rows = async (version: number) => {
    const t = moneyTables(version);
    const all = (table: string, ...order: string[]) => db(table).select().orderBy(order);
    return {
      balances: await all(t.balances, 'account', 'currency'),
      entries: await all(t.entries, 'position'),
      postings: await all(t.postings, 'entry_id', 'account'),
      escrows: await all(t.escrows, 'contract_id'),
      milestones: await all(t.milestones, 'contract_id', 'milestone_id'),
      disputes: await all(t.disputes, 'contract_id', 'milestone_id'),
      evidence: await all(t.evidence, 'contract_id', 'stream_version'),
      payouts: await all(t.payouts, 'worker_id', 'payout_id'),
      credits: await all(t.credits, 'worker_id', 'contract_id', 'source_id'),
      wallets: await all(t.wallets, 'worker_id'),
    };
  };

  it('applied in random batches with redeliveries, then rebuilt from the log in order: the same books, balanced', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(choiceArb, { minLength: 20, maxLength: 80, size: 'max' }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
        async (choices, sizes) => {
          run++;
          const live = 100 + run * 2;
          const rebuilt = live + 1;
          const world = MoneyWorld.play(choices, `run${run}-${randomUUID().slice(0, 8)}`);
          const projected = toProjected(world.log, 1_000_000 * run);
          const liveModel = postgresProjection(db, moneyReadModel(live));
          await liveModel.setup();
          for (let i = 0, k = 0; i < world.delivered.length; k++) {
            const size = sizes[k % sizes.length]!;
            await liveModel.applyBatch(world.delivered.slice(i, i + size).map(projected), source);
            i += size;
          }
          const target = postgresRebuildTarget(db, moneyReadModel(rebuilt));
          await target.reset();
          for (let i = 0; i < world.log.length; i += 25) await target.apply(world.log.slice(i, i + 25).map(projected));

          const q = new MoneyQueries(db, async () => live);
          const trial = await q.trialBalance();
          expect(trial).toMatchObject({ balanced: true, balancesMatchPostings: true });
          for (const workerId of world.workerIds) {
            const wallet = await q.wallet(workerId);
            expect(wallet?.availableMinor ?? 0).toBe(world.availableOf(workerId));
          }
          const negative = (await q.balances()).filter(
            (b) => b.balanceMinor < 0 && !b.account.startsWith('hirer:') && !b.account.startsWith('in-transit:'),
          );
          expect(negative).toEqual([]);
          expect(await rows(rebuilt)).toEqual(await rows(live));
          await liveModel.drop();
          await target.drop();
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});

it('is registered under its name', () => {
  expect(model().name).toBe(MONEY_PROJECTION);
  expect(model().topics).toEqual(['marketplace.escrow', 'marketplace.wallet']);
});
