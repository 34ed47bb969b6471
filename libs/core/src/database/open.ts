import { AppConfig } from '../config/config';
import { DatabaseHandle, startEmbeddedPostgres } from './embedded';

/**
 * The database this process should use: DATABASE_URL when set, otherwise the
 * embedded PostgreSQL under the data directory (joined if a server already runs it).
 */
export async function openDatabase(config: AppConfig, log: (m: string) => void = () => undefined, info: (m: string) => void = log, ending?: () => boolean): Promise<DatabaseHandle> {
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
