import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';

/** The heap in use once garbage is collected (twice, for what the first pass freed), for tests of what a cache keeps. */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
