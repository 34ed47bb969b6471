import { Command } from 'commander';
import { migrateDatabase } from '../../../../libs/core/src/database/migrate';
import { OutboxWorker } from '../../../../libs/core/src/outbox/outbox';
import { withDatabase, withServices } from '../context';

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

  program
    .command('outbox:retry')
    .description('Put outbox events parked after repeated failures back in line (once their cause is fixed)')
    .action(() =>
      withServices(async (app) => {
        const n = await app.get(OutboxWorker).retryParked();
        console.log(n ? `${n} parked event(s) put back in line; the worker delivers them now.` : 'No parked events.');
      }),
    );
}
