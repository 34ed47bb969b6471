import { Signals } from '../../../libs/core/src/signals';
import { say } from './stderr';

let signals: Signals | undefined;

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
    // An error nothing caught (Signals.fail), said as the command's own failure is: errorText, redacted, no stack. Until
    // 2026-12-07 Node printed it whole (a URL's password in it too) and exited at once.
    failing: async (what, err) => {
      try {
        (await import('./error-text.js')).sayError(err, `${what}: `);
      } catch {
        say(what);
      }
    },
    leftOut: (summary) => say(summary),
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
 * True once a signal, or an error nothing caught (Signals.fail), is being handled: the command exits with its code
 * when the cleanups are done, not on its own.
 */
export function interrupting(): boolean {
  return signals?.ending ?? false;
}
