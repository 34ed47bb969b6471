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
    cleanupFailed: (err) => sayLoaded(err, 'while cleaning up'),
    // An error nothing caught (Signals.fail). Until 2026-12-07 Node printed it whole (a URL's password in it too) and
    // exited at once.
    failing: (what, err) => sayLoaded(err, what),
    leftOut: (summary) => say(summary),
  }));
}

/**
 * Says `err` after `what` as the command's own failure is said (errorText: redacted, no stack), what words it loaded
 * only now, as main.ts loads it (it brings Nest with it). Never rejects, as Signals' reporter must not: when it cannot
 * load, `what` alone is said (until 2026-12-07 a cleanup's failure then rejected, and the cleanups after it never ran).
 */
async function sayLoaded(err: unknown, what: string): Promise<void> {
  try {
    (await import('./error-text.js')).sayError(err, `${what}: `);
  } catch {
    say(what);
  }
}

/**
 * Registers what an interrupted command must still do (end an import's pool, drop a scratch
 * database): run last-registered first, as `finally` blocks would have. Returns the function the
 * command's own end runs it by, once (Signals.cleanup): a signal meanwhile waits for that run.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => Promise<void> {
  return handleInterrupts().cleanup(cleanup);
}

/**
 * True once a signal, or an error nothing caught (Signals.fail), is being handled: the command exits with its code
 * when the cleanups are done, not on its own.
 */
export function interrupting(): boolean {
  return signals?.ending ?? false;
}
