import { describe, expect, it } from 'vitest';
import { chainFigures, projectChain } from '../bench/backlog-chain.js';

/** 25 refreshes a second, 0.25 ms of reading per shop, every shop refreshed most urgent first. */
const PACE = {
  store: 'Secrets Manager' as const,
  shops: 10_000,
  readAllMs: 2_500,
  refreshesPerSecond: 25,
  urgentFirstShare: 1,
};
const REFRESH_NEED_MS = 22_000;

describe('Function: projectChain', () => {
  it('fills each 15-minute invocation but the last, reading what is still due each time', () => {
    const projection = projectChain(PACE, REFRESH_NEED_MS, 100_000, 900_000);

    // First: 900 s - 22 s - 25 s of reading 100,000 shops = 853 s at 25/s.
    expect(projection.perInvocation[0]).toBe(21_325);
    expect(projection.perInvocation.reduce((sum, n) => sum + n, 0)).toBe(100_000);
    expect(projection.perInvocation).toHaveLength(5);
    // Four full invocations with their gaps, then the last one's reading and refreshing.
    const last = projection.perInvocation[4] ?? 0;
    expect(projection.totalMs).toBeCloseTo(4 * 902_000 + last * 0.25 + (last / 25) * 1000, 0);
  });

  it('says how large a fleet one run serves at 1 in 120 shops due, and how many due shops fit', () => {
    const projection = projectChain(PACE, REFRESH_NEED_MS, 100_000, 900_000);

    // 878 s over 0.25 ms + (1/120)/25 s per shop.
    expect(projection.fitsOneRun).toBe(Math.floor(878_000 / (0.25 + 1000 / 120 / 25)));
    expect(projection.allDueOneRun).toBe(Math.floor(878_000 / (0.25 + 40)));
  });

  it('never ends when no refresh fits in an invocation', () => {
    const projection = projectChain({ ...PACE, readAllMs: 100_000 }, REFRESH_NEED_MS, 100_000);

    expect(projection.totalMs).toBe(Number.POSITIVE_INFINITY);
    expect(chainFigures(projection)[0]?.pass).toBe(false);
  });

  it('passes the 2-hour target at the measured Secrets Manager pace, and fails one far slower', () => {
    expect(chainFigures(projectChain(PACE, REFRESH_NEED_MS))[0]?.pass).toBe(true);
    const slow = projectChain({ ...PACE, refreshesPerSecond: 10 }, REFRESH_NEED_MS);
    expect(chainFigures(slow)[0]?.pass).toBe(false);
  });
});
