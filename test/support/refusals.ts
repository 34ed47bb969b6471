import type { GqlResult, TestApp } from './test-app';

/** Error codes clients may get (API.md; libs/core/src/errors.ts) but INTERNAL, which is a bug. */
export const DOCUMENTED = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'RATE_LIMITED', 'CONFLICT']);

/** What a database's or a runtime's own words look like in a message. */
export const LEAK = /violates|relation "|syntax error|invalid input syntax|invalid byte sequence|duplicate key|QueryFailedError|unterminated|\bSQL\b|at .+\.(ts|js):\d+|node_modules|TypeError|ReferenceError|Cannot read prop/;

/** What is wrong with a refusal's codes or words (an undocumented code, a stack trace, a database's message), or null. */
export function undocumentedRefusal(res: GqlResult): string | null {
  if (res.status >= 500) return `HTTP ${res.status}`;
  for (const e of res.errors ?? []) {
    const code = e.extensions?.code;
    if (!DOCUMENTED.has(code)) return `code ${code}: ${e.message.slice(0, 160)}`;
  }
  const text = JSON.stringify(res.errors ?? []);
  if (/stacktrace|exception/i.test(text) || LEAK.test(text)) return `leaks: ${text.slice(0, 200)}`;
  return null;
}

/**
 * Count and checksum of every row of the test database's tables but `excluded`, in one
 * statement, so that two snapshots tell which tables a request changed.
 */
export class TableSnapshots {
  private constructor(
    private readonly t: TestApp,
    private readonly tables: string[],
  ) {}

  static async of(t: TestApp, excluded: Record<string, string>): Promise<TableSnapshots> {
    const rows = await t.sql<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`);
    return new TableSnapshots(t, rows.map((r) => r.name).filter((n) => !(n in excluded)));
  }

  async take(): Promise<Map<string, string>> {
    const sql = this.tables
      .map((n) => `SELECT '${n}' AS t, count(*)::text || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "${n}" x`)
      .join(' UNION ALL ');
    const rows = await this.t.sql<{ t: string; h: string }>(sql);
    return new Map(rows.map((r) => [r.t, r.h]));
  }

  /** The tables whose rows differ between two snapshots. */
  static changed(before: Map<string, string>, after: Map<string, string>): string[] {
    return [...before.keys()].filter((k) => before.get(k) !== after.get(k));
  }
}
