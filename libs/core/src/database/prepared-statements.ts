import { Client, ClientConfig } from 'pg';
import { refuseWhileSpeculating } from '../graphql/speculation';

/**
 * Named prepared statements for the hottest reads.
 *
 * node-postgres sends every query as an unnamed statement, which PostgreSQL parses
 * and plans again on each call. For the few statements that run on nearly every
 * request (the session look-up, a topic page, a board list) that planning costs
 * as much as running them. `prepared()` registers such a statement's text under a
 * name; connections of the pool prepare it once and then only bind and execute it.
 *
 * Only fixed texts belong here (the registry is bounded by the code, never by input),
 * and only statements that run inside or outside transactions alike: prepared
 * statements live per connection, not per transaction. Behind a pooler in
 * transaction mode (PgBouncer before 1.21) turn them off with
 * DB_PREPARED_STATEMENTS=false; the texts then run as plain queries.
 */
const byText = new Map<string, string>();
const names = new Set<string>();

export function prepared(name: string, sql: string): string {
  if (!/^[a-z][a-z0-9_.]{0,50}$/.test(name)) throw new Error(`prepared statement name "${name}" is not a short lower-case identifier`);
  const known = byText.get(sql);
  if (known === name) return sql;
  if (known !== undefined) throw new Error(`the same SQL text is registered as "${known}" and "${name}"`);
  if (names.has(name)) throw new Error(`prepared statement "${name}" is registered twice with different SQL`);
  names.add(name);
  byText.set(sql, name);
  return sql;
}

/** The registered name of a statement text, if any (for tests). */
export function preparedName(sql: string): string | undefined {
  return byText.get(sql);
}

type QueryCallback = (err: Error, result: unknown) => void;

/** What a `ParvisClient` does besides pg's own: both in its pool's options, under `parvis`. */
export interface ParvisClientOptions {
  /** Run registered texts as named statements. */
  prepare: boolean;
  /** Refuse a statement that may write while a compiled query runs (`refuseWhileSpeculating`, speculation.ts; GRAPHQL_JIT). */
  guardWrites: boolean;
}

/**
 * The pool's pg Client when it does anything besides pg's own (with neither, the pool keeps
 * pg's Client and no statement pays for a check): runs registered texts as named statements,
 * and refuses a statement that may write while a compiled query runs, as its pool's options'
 * `parvis` say. TypeORM hands its pool options (`extra`) to pg-pool, which builds connections
 * from `Client` with those options.
 */
export class ParvisClient extends Client {
  private readonly parvis: ParvisClientOptions;

  constructor(config: ClientConfig & { parvis: ParvisClientOptions }) {
    super(config);
    this.parvis = config.parvis;
  }

  // pg's query() has many overloads; only (text, values[, callback]) is rewritten.
  override query(...args: unknown[]): any {
    if (this.parvis.guardWrites) refuseWhileSpeculating(args[0]);
    const [text, values, callback] = args;
    if (this.parvis.prepare && typeof text === 'string' && (values === undefined || Array.isArray(values))) {
      const name = byText.get(text);
      if (name !== undefined) {
        const config = { name: `parvis.${name}`, text, values: values as unknown[] | undefined };
        return typeof callback === 'function'
          ? (super.query as (c: unknown, cb: QueryCallback) => void)(config, callback as QueryCallback)
          : (super.query as (c: unknown) => Promise<unknown>)(config);
      }
    }
    return (super.query as (...a: unknown[]) => unknown)(...args);
  }
}
