import { Option } from 'commander';

// Options more than one command takes, so that no command's module imports another's.

/**
 * `--engine`: one of the engines by name, or all, refused otherwise before the database is
 * opened. One not configured (meilisearch without MEILI_URL) is refused once it is.
 */
export function engineOption(): Option {
  return new Option('--engine <name>', 'postgres, meilisearch or all (every configured engine)').choices(['all', 'postgres', 'meilisearch']).default('all');
}
