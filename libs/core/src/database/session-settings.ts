import { speculating } from '../graphql/speculation';

/**
 * Settings every connection Parvis reads its data through starts with, whatever the server,
 * database or role default to. Timestamps are read in their text form: keyset cursors carry
 * `created_at::text` and are checked against PostgreSQL's ISO output, and pg parses
 * timestamptz columns from ISO text only. A database set to another DateStyle
 * (`ALTER DATABASE … SET datestyle = 'SQL, DMY'`) made the API refuse its own cursors; UTC
 * keeps every process's text of one instant the same.
 *
 * They are SET once a connection is open rather than sent in the `options` startup parameter,
 * which PgBouncer refused before 1.20; it tracks these two per client either way.
 */
export const SESSION_SETTINGS_SQL = `SET DateStyle = 'ISO, MDY'; SET TimeZone = UTC`;

/**
 * A pool's `onConnect`: SESSION_SETTINGS_SQL, and with `idleInTransactionMs` (> 0) a limit
 * on how long a transaction may sit open doing nothing. A transaction left open by a bug (an
 * await that never settles between two statements) would otherwise hold its row locks, and
 * every write that needs them, until the process restarts; PostgreSQL ends its session
 * instead, the pool drops the connection, and the locks go.
 */
export function sessionSetup(idleInTransactionMs = 0): (client: { query(text: string): Promise<unknown> }) => Promise<void> {
  const sql = idleInTransactionMs > 0 ? `${SESSION_SETTINGS_SQL}; SET idle_in_transaction_session_timeout = ${Math.floor(idleInTransactionMs)}` : SESSION_SETTINGS_SQL;
  return async (client) => {
    // A connection the pool opens for a compiled query's read is set up all the same (speculation.ts refuses SET inside one).
    await speculating.exit(() => client.query(sql));
  };
}
