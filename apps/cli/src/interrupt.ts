import { CLEANUP_DEADLINE_MS, Signals } from '../../../libs/core/src/signals';
import { say } from './stderr';

let signals: Signals | undefined;
/** Set once an error nothing caught is being handled (handleUncaught). */
let failing = false;

/**
 * Takes over SIGINT, SIGTERM and SIGHUP for a command, before its modules load (main), so
 * before its database opens (see Signals): interrupted, the command's cleanups run
 * (`DatabaseHandle.stop` leaves a cluster others use running), and it exits with the signal's
 * code. Once per process.
 */
export function handleInterrupts(): Signals {
  return (signals ??= new Signals('command', {
    stopping: (signal) => say(`interrupted (${signal}): cleaning up`),
    cutShort: (reason) => say(reason),
    // errorText's text, as the command's own failure's; loaded only now, as main.ts loads it (it brings Nest with it).
    cleanupFailed: async (err) => (await import('./error-text.js')).sayError(err, 'while cleaning up: '),
  }));
}

/**
 * Registers what an interrupted command must still do (stop the database it opened, drop a
 * scratch database): run last-registered first, as `finally` blocks would have. Returns the
 * function that takes it off again once the command did it itself.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  return handleInterrupts().onStop(cleanup);
}

/**
 * An error nothing caught (`uncaughtException`) or a rejection nothing handled (`unhandledRejection`) ends a command, as
 * Node would, but not before: it is said on stderr as the command's own failure is (errorText through the CLI's writer:
 * redacted, no stack), and the interrupt's cleanups run (the database it opened stopped, a scratch database dropped),
 * then it exits 1; past CLEANUP_DEADLINE_MS it exits 1 regardless. Until 2026-12-07 Node printed the error whole (a
 * URL's password in it too) and exited at once. Taken with the signals (main), before the commands' modules load.
 */
export function handleUncaught(): void {
  const end = (what: string) => (err: unknown) =>
    void (async () => {
      const first = !failing;
      failing = true;
      try {
        // Loaded only now, as main.ts loads it: it brings the libs' errors (and Nest) with it.
        (await import('./error-text.js')).sayError(err, `${what}: `);
      } catch {
        say(what);
      }
      if (!first) return;
      // Not unref'd: a cleanup waiting on nothing the event loop holds must not let the process end 0.
      const deadline = setTimeout(() => process.exit(1), CLEANUP_DEADLINE_MS);
      await handleInterrupts().cleanUp({ failed: true });
      clearTimeout(deadline);
      process.exit(1);
    })();
  process.on('uncaughtException', end('uncaught exception'));
  process.on('unhandledRejection', end('unhandled rejection'));
}

/**
 * True once a signal, or an error nothing caught (handleUncaught), is being handled: the command exits with its code
 * when the cleanups are done, not on its own.
 */
export function interrupting(): boolean {
  return failing || (signals?.stopping ?? false);
}
