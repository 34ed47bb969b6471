import { redacted } from '../../../libs/core/src/log-redaction';
import { Signals } from '../../../libs/core/src/signals';

let signals: Signals | undefined;

/**
 * Takes over SIGINT, SIGTERM and SIGHUP for a command, before its modules load (main), so
 * before its database opens (see Signals): interrupted, the command's cleanups run
 * (`DatabaseHandle.stop` leaves a cluster others use running), and it exits with the signal's
 * code. Once per process.
 */
export function handleInterrupts(): Signals {
  return (signals ??= new Signals('command', {
    stopping: (signal) => process.stderr.write(`interrupted (${signal}): cleaning up\n`),
    // Through `redacted`, as the log is: an error's text may name a URL with its password.
    cutShort: (reason) => process.stderr.write(`${redacted(reason)}\n`),
    cleanupFailed: (err) => process.stderr.write(`while cleaning up: ${redacted(err instanceof Error ? err.message : String(err))}\n`),
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

/** True once a signal is being handled: the command exits with its code when the cleanups are done, not on its own. */
export function interrupting(): boolean {
  return signals?.stopping ?? false;
}
