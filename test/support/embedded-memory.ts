import { machineMemorySizing } from '../../libs/core/src/database/embedded';

/** PostgreSQL's default effective_cache_size, 4GB, or the machine's memory when it has less. */
const cacheMB = Math.min(4096, machineMemorySizing().memoryMB);

/**
 * The memory the tests give the embedded clusters they keep (persistent ones, which would
 * otherwise be sized to the machine): PostgreSQL's defaults, as the throwaway clusters keep, so
 * that several run at once. effective_cache_size no larger than the machine's memory: a larger
 * one is refused (memorySizing, since 2026-12-06), and with '4GB' the tests failed on a machine
 * of less.
 */
export const TEST_CLUSTER_MEMORY = { sharedBuffers: '128MB', effectiveCacheSize: `${cacheMB}MB`, effectiveCacheSizeMB: cacheMB } as const;
