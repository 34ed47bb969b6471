import { InitialSchema1763888400000 } from './1763888400000-initial-schema';

/** Every migration, in order. Listed explicitly so the runner never depends on file globs. */
export const migrations = [InitialSchema1763888400000];
