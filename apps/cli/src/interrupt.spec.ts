// What words an error (error-text, with Nest behind it) fails to load: the interrupt's reporter must still not reject.
jest.mock(
  './error-text.js',
  () => {
    throw new Error('cannot load');
  },
  { virtual: true },
);

import { handleInterrupts, onInterrupt } from './interrupt';

describe('a command interrupted', () => {
  // A cleanup's failure rejected the reporter when what words it could not load: the cleanups after it never ran, and
  // the command exited at the deadline or through the rejection left unhandled; until 2026-12-07.
  it('says a failed cleanup and exits with the signal’s code even when what words the error cannot load', async () => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const listeners = signals.map((sig) => process.listeners(sig));
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      handleInterrupts();
      onInterrupt(async () => {
        throw new Error('drop failed');
      });
      process.emit('SIGTERM');
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual(['interrupted (SIGTERM): cleaning up\n', 'while cleaning up\n']);
      expect(exit.mock.calls).toEqual([[143]]);
    } finally {
      signals.forEach((sig, i) => {
        process.removeAllListeners(sig);
        for (const l of listeners[i]) process.on(sig, l);
      });
      jest.restoreAllMocks();
    }
  });
});
