import { errorKind, RepeatedWarning, WarningThrottle } from './warning-throttle';

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

describe('RepeatedWarning', () => {
  const coded = (code: string, message = `refused ${code}`) => ({ code, message });

  it('warns at the first, holds repeats within the interval for the caller to count, and says the count at the next warning, once', () => {
    const w = new RepeatedWarning(100, 3, ['held']);
    expect(w.occurred(0, coded('A'))).toEqual({ go: 'warning', unlogged: undefined });
    expect(w.occurred(10, coded('A', 'another message, the same code'))).toEqual({ go: false, kindLogged: true });
    w.count('held');
    expect(w.occurred(99, coded('A'))).toEqual({ go: false, kindLogged: true });
    w.count('held');
    expect(w.open(99)).toBe(false);
    expect(w.open(100)).toBe(true);
    expect(w.occurred(100, coded('A'))).toEqual({ go: 'warning', unlogged: { held: 2 } });
    // Told once: the next warning has nothing to say.
    expect(w.occurred(200, coded('A'))).toEqual({ go: 'warning', unlogged: undefined });
  });

  it('warns of a kind not logged since the last warning at once, with the last line\'s, up to the cap; past it and for kinds logged, holds', () => {
    const w = new RepeatedWarning(100, 2, ['held']);
    const a = coded('A');
    const b = coded('B');
    const c = coded('C');
    expect(w.occurred(0, a).go).toBe('warning');
    expect(w.occurred(1, b)).toEqual({ go: 'new kind', lastLogged: a });
    // A kind logged since the warning (its own, or a new one's) is a repeat.
    expect(w.occurred(2, a)).toEqual({ go: false, kindLogged: true });
    expect(w.occurred(3, b)).toEqual({ go: false, kindLogged: true });
    expect(w.occurred(4, c)).toEqual({ go: 'new kind', lastLogged: b });
    // Two new kinds between two warnings at most: a fourth kind waits, not logged.
    expect(w.occurred(5, coded('D'))).toEqual({ go: false, kindLogged: false });
    expect(w.occurred(6, coded('D'))).toEqual({ go: false, kindLogged: false });
    // A new kind does not move the interval: the warning at 0 does.
    expect(w.open(100)).toBe(true);
    // The next warning starts the kinds again from its own: B is new once more.
    expect(w.occurred(100, c).go).toBe('warning');
    expect(w.occurred(101, b)).toEqual({ go: 'new kind', lastLogged: c });
  });

  it("tells kinds apart as errorKind does: pg's timeouts (a message per step) are one kind", () => {
    const w = new RepeatedWarning(100, 3, ['held']);
    expect(w.occurred(0, new Error('Query read timeout')).go).toBe('warning');
    expect(w.occurred(1, new Error('timeout exceeded when trying to connect'))).toEqual({ go: false, kindLogged: true });
  });

  it('counts under each name given, and tells the counts when the caller says them (at the end, at a new kind\'s line), zeroed once told', () => {
    const w = new RepeatedWarning(100, 3, ['outages', 'checks']);
    expect(w.tell()).toBeUndefined();
    w.occurred(0, coded('A'));
    w.count('checks');
    w.count('checks');
    w.count('outages');
    expect(w.tell()).toEqual({ outages: 1, checks: 2 });
    expect(w.tell()).toBeUndefined();
    w.count('checks');
    // Told by `tell`, not again by the next warning.
    expect(w.tell()).toEqual({ outages: 0, checks: 1 });
    expect(w.occurred(100, coded('A'))).toEqual({ go: 'warning', unlogged: undefined });
  });
});
