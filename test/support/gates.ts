/** A method's calls held at a gate (`gateCalls`). */
export interface CallGate {
  /** Resolves once the first call held has reached the gate. */
  begun: Promise<void>;
  /** Lets the calls held go on (the method itself then runs), and every later one. */
  open: () => void;
  /** Opens the gate and puts the method back. */
  restore: () => void;
  /** How many calls the gate saw (held or not) have ended, the method itself done. */
  readonly ended: number;
  /** The arguments of the first call held, once it has reached the gate (to find the transaction it holds: `gateHolder`). */
  readonly args: readonly unknown[] | undefined;
}

/**
 * Holds the calls of `object[method]` that `when` picks at a gate before the method itself runs
 * (or, `at` 'after', once it has run, its result held back), so a test can change something
 * between a caller's start and its end (a socket leaving a room while a push reads who may hear
 * it, or once it has). Other calls go through at once.
 */
export function gateCalls(object: object, method: string, when: (...args: any[]) => boolean = () => true, at: 'before' | 'after' = 'before'): CallGate {
  const target = object as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = target[method].bind(object);
  let entered!: () => void;
  const begun = new Promise<void>((resolve) => (entered = resolve));
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let firstHeld: unknown[] | undefined;
  const held = async (args: unknown[]) => {
    if (!when(...args)) return;
    firstHeld ??= args;
    entered();
    await gate;
  };
  const spy = jest.spyOn(target, method).mockImplementation(async (...args: unknown[]) => {
    if (at === 'before') await held(args);
    try {
      const result = await real(...args);
      if (at === 'after') await held(args);
      return result;
    } finally {
      ended++;
    }
  });
  let ended = 0;
  return {
    begun,
    open,
    restore: () => {
      open();
      spy.mockRestore();
    },
    get ended() {
      return ended;
    },
    get args() {
      return firstHeld;
    },
  };
}

/** A method's calls counted as they run (`countCalls`). */
export interface CallCount {
  /** The most calls under way at once so far. */
  readonly most: number;
  /** The first argument of every call so far. */
  readonly firstArgs: ReadonlySet<unknown>;
  /** Puts the method back. */
  restore: () => void;
}

/** Counts the calls of `object[method]` under way at once (each still runs the method itself). */
export function countCalls(object: object, method: string): CallCount {
  const target = object as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = target[method].bind(object);
  let under = 0;
  let most = 0;
  const firstArgs = new Set<unknown>();
  const spy = jest.spyOn(target, method).mockImplementation(async (...args: unknown[]) => {
    most = Math.max(most, ++under);
    firstArgs.add(args[0]);
    try {
      return await real(...args);
    } finally {
      under--;
    }
  });
  return {
    get most() {
      return most;
    },
    firstArgs,
    restore: () => spy.mockRestore(),
  };
}
