import { MIGRATION_POOL_WAIT_MS, migrationDataSourceOptions } from './migrate';

describe('the migration run’s pool', () => {
  it('waits for one of its two connections MIGRATION_POOL_WAIT_MS at most, never for good', () => {
    const extra = migrationDataSourceOptions('postgres://parvis@localhost/parvis').extra as { max: number; connectionTimeoutMillis?: number };
    expect(extra.max).toBe(2);
    expect(MIGRATION_POOL_WAIT_MS).toBe(10_000);
    expect(extra.connectionTimeoutMillis).toBe(MIGRATION_POOL_WAIT_MS);
  });
});
