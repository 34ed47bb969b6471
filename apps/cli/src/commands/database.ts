import { Command } from 'commander';
import { migrateDatabase } from '../../../../libs/core/src/database/migrate';
import { withDatabase } from '../context';

export function registerDatabaseCommands(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations')
    .action(() =>
      withDatabase(
        async ({ db }) => {
          const applied = await migrateDatabase(db.url);
          console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database schema is up to date.');
        },
        { migrate: false },
      ),
    );
}
