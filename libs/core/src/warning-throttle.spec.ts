import { errorKind, WarningThrottle } from './warning-throttle';

describe('WarningThrottle', () => {
  it('lets the first warning go, then none until the interval has passed since the last one that went', () => {
    const t = new WarningThrottle(100);
    expect(t.open(0)).toBe(true);
    expect(t.take(0)).toBe(true);
    expect(t.open(50)).toBe(false);
    expect(t.take(50)).toBe(false);
    expect(t.take(99)).toBe(false);
    // Refused turns do not move the interval: it counts from the warning at 0.
    expect(t.take(100)).toBe(true);
    expect(t.take(150)).toBe(false);
    expect(t.take(200)).toBe(true);
  });

  it('lets a warning go anyway when told to, and counts the interval from it', () => {
    const t = new WarningThrottle(100);
    t.take(0);
    expect(t.take(30, true)).toBe(true);
    expect(t.take(110)).toBe(false);
    expect(t.take(130)).toBe(true);
  });

  it('after reset, lets the next warning go at once', () => {
    const t = new WarningThrottle(100);
    t.take(0);
    t.reset();
    expect(t.open(1)).toBe(true);
    expect(t.take(1)).toBe(true);
    expect(t.open(2)).toBe(false);
  });
});

describe('errorKind', () => {
  it("tells errors apart by code, else by message, and takes pg's and pg-pool's timeouts (no code, a message per step) for one kind", () => {
    expect(errorKind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe('code ECONNREFUSED');
    expect(errorKind({ code: '57P01', message: 'terminating connection due to administrator command' })).toBe('code 57P01');
    expect(errorKind(new Error('Query read timeout'))).toBe('timeout');
    expect(errorKind(new Error('timeout exceeded when trying to connect'))).toBe(errorKind(new Error('Query read timeout')));
    expect(errorKind(new Error('relation "job_runs" does not exist'))).toBe('relation "job_runs" does not exist');
    expect(errorKind('refused')).toBe('refused');
    expect(errorKind(undefined)).toBe('undefined');
  });
});
