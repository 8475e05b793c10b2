import { expect } from 'vitest';
import type { TokenService } from '../../../gateway/tokens.js';
import type { Role } from '../../../runtime/roles.js';
import { uniqueSuffix } from '../env.js';
import { waitUntil } from '../system.js';
import { applyBody, idOf, jobBody, threeMilestones } from './fixtures.js';

// The marketplace's HTTP API as its tests call it: commands, queries, polling a query until it says something,
// and a contract brought to FUNDING or ACTIVE the way clients do it.

export interface Parties {
  readonly hirer: string;
  readonly worker: string;
  readonly workerId: string;
  readonly contractId: string;
}

export function marketplaceHttp(base: string, tokens: Pick<TokenService, 'accessToken'>) {
  const token = (accountId: string, role: Role) => tokens.accessToken({ accountId, role });

  async function post(path: string, body: unknown, as: string) {
    const res = await fetch(`${base}/commands/marketplace/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function get(path: string, as: string) {
    const res = await fetch(`${base}/queries/marketplace/${path}`, { headers: { authorization: `Bearer ${as}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Polls a query until `ok` holds of its answer (the processes and the projections are asynchronous). */
  const eventually = (path: string, as: string, ok: (body: Record<string, unknown>) => boolean, what: string) =>
    waitUntil(
      async () => {
        const res = await get(path, as);
        return res.status === 200 && ok(res.body) ? res.body : undefined;
      },
      30_000,
      what,
    );

  /** A hirer, a worker and a contract between them in FUNDING (posted, applied, accepted). */
  async function contractInFunding(): Promise<Parties> {
    const suffix = uniqueSuffix();
    const hirer = token(`hirer-${suffix}`, 'hirer');
    const workerId = `worker-${suffix}`;
    const worker = token(workerId, 'worker');
    const posted = await post('post-job', jobBody(), hirer);
    expect(posted.status).toBe(201);
    const applied = await post('apply', applyBody(idOf(posted.body, 'job')), worker);
    expect(applied.status).toBe(201);
    const contractId = idOf(applied.body, 'application');
    const accepted = await post(
      'accept-application',
      { applicationId: contractId, milestones: threeMilestones() },
      hirer,
    );
    expect(accepted.status).toBe(200);
    await eventually(`contracts/${contractId}`, hirer, (c) => c.status === 'FUNDING', 'the contract in FUNDING');
    return { hirer, worker, workerId, contractId };
  }

  /** A contract funded with the simulator's test card and started by the escrow process. */
  async function activeContract(): Promise<Parties> {
    const p = await contractInFunding();
    await eventually(`contracts/${p.contractId}/escrow`, p.hirer, () => true, 'the escrow opened');
    const funded = await post(
      'fund-contract',
      { contractId: p.contractId, paymentMethod: '4242424242424242' },
      p.hirer,
    );
    expect(funded.status).toBe(200);
    await eventually(`contracts/${p.contractId}`, p.hirer, (c) => c.status === 'ACTIVE', 'the contract ACTIVE');
    return p;
  }

  async function deliverAndApprove(p: Parties, milestoneId: string): Promise<void> {
    expect((await post('submit-milestone', { contractId: p.contractId, milestoneId }, p.worker)).status).toBe(200);
    expect((await post('approve-milestone', { contractId: p.contractId, milestoneId }, p.hirer)).status).toBe(200);
  }

  return { token, post, get, eventually, contractInFunding, activeContract, deliverAndApprove };
}

/** Each milestone's money state in an escrow view, in milestone order. */
export const milestoneStates = (escrow: Record<string, unknown>): string[] =>
  (escrow.milestones as { state: string }[]).map((m) => m.state);
