import { describe, expect, it } from 'vitest';
import type { BreakerState } from '../../schemas/index.ts';
import { admit, afterCall } from './breaker.ts';

const o = { breakerFailures: 3, breakerCooldownMs: 1000, probeMs: 5000 };
const E = 'http://127.0.0.1:1/v1';

function fail(b: BreakerState | undefined, now: number) {
  return afterCall(b, E, false, now, o);
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures; a success in between starts the count again', () => {
    let b = fail(undefined, 0).next;
    b = fail(b, 1).next;
    expect(b).toMatchObject({ state: 'closed', failures: 2 });
    b = afterCall(b, E, true, 2, o).next;
    expect(b).toMatchObject({ state: 'closed', failures: 0 });
    b = fail(fail(b, 3).next, 4).next;
    const opened = fail(b, 5);
    expect(opened.change).toBe('opened');
    expect(opened.next).toMatchObject({ state: 'open', failures: 3, openedAt: 5, opens: 1 });
    // A success while closed with no failures writes nothing.
    expect(afterCall({ ...opened.next!, state: 'closed', failures: 0 }, E, true, 6, o)).toEqual({});
  });

  it('open: callers wait for the cool-down, then exactly one probes; its success closes it', () => {
    const open: BreakerState = {
      endpoint: E,
      state: 'open',
      failures: 3,
      openedAt: 100,
      opens: 1,
      updatedAt: 100,
    };
    expect(admit(open, 'a', 600, o).admission).toEqual({ go: false, waitMs: 500, state: open });
    const probe = admit(open, 'a', 1100, o);
    expect(probe.admission).toEqual({ go: true, probe: true });
    expect(probe.next).toMatchObject({ state: 'half_open', probeBy: 'a', probeUntil: 6100 });
    // Another caller waits while the probe is out; the prober itself may go again.
    expect(admit(probe.next, 'b', 1200, o).admission).toMatchObject({ go: false });
    expect(admit(probe.next, 'a', 1200, o).admission).toEqual({ go: true, probe: true });
    const closed = afterCall(probe.next, E, true, 1300, o);
    expect(closed.change).toBe('closed');
    expect(closed.next).toMatchObject({ state: 'closed', failures: 0, probeBy: undefined });
  });

  it('a failed probe opens it again with a new cool-down; a probe whose holder died is taken over', () => {
    const half: BreakerState = {
      endpoint: E,
      state: 'half_open',
      failures: 3,
      openedAt: 100,
      probeBy: 'a',
      probeUntil: 6100,
      opens: 1,
      updatedAt: 1100,
    };
    const again = fail(half, 1500);
    expect(again.change).toBe('opened');
    expect(again.next).toMatchObject({ state: 'open', openedAt: 1500, opens: 2, failures: 4 });
    expect(admit(half, 'b', 6200, o)).toMatchObject({
      admission: { go: true, probe: true },
      next: { probeBy: 'b' },
    });
  });
});
