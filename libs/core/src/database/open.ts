import { AppConfig } from '../config/config';
import { DatabaseHandle, EmbeddedOptions, startEmbeddedPostgres } from './embedded';

/**
 * What an embedded PostgreSQL's start is told by the process (EmbeddedOptions'): where its lines go (none when `log` is
 * absent; `info`, the lines worth reading at every start, to `log` when absent), and whether the process is ending
 * (`() => signals.ending`). Named, not positional: a command that logs nothing passes `ending` alone.
 */
export type OpenOptions = Pick<EmbeddedOptions, 'log' | 'info' | 'ending'>;

/**
 * The database this process should use: DATABASE_URL when set, otherwise the
 * embedded PostgreSQL under the data directory (joined if a server already runs it).
 */
export async function openDatabase(config: AppConfig, { log = () => undefined, info = log, ending }: OpenOptions = {}): Promise<DatabaseHandle> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, owned: false, stop: async () => undefined };
  return startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.EMBEDDED_PG_PORT,
    sharedBuffers: config.EMBEDDED_PG_SHARED_BUFFERS,
    effectiveCacheSize: config.EMBEDDED_PG_EFFECTIVE_CACHE_SIZE,
    memory: config.embeddedMemory,
    log,
    info,
    ending,
  });
}
