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
    try {
      stopOnSignals(pino({ level: 'silent' }), stop);
      process.emit('SIGTERM');
      expect(stop).toHaveBeenCalledTimes(1);
      process.emit('SIGINT');
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenCalledWith(1);
      expect(stop).toHaveBeenCalledTimes(1);
      finish();
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenLastCalledWith(0);
    } finally {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        for (const l of process.listeners(sig)) if (!before[sig].includes(l)) process.off(sig, l);
      }
    }
  });
});
