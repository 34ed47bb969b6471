import { Command } from 'commander';
import { createApp } from '../../../api/src/app';
import { withDatabase } from '../context';
import { seedDemoCommunity } from '../seed/demo';

export function registerSeedCommands(program: Command): void {
  program
    .command('seed')
    .description('Fill a demo community (groups, spaces, boards, topics) and print the sign-ins')
    .action(() =>
      withDatabase(async ({ config, db }) => {
        // A bulk load by the operator: the demo people post faster than new members may.
        const app = await createApp(Object.assign(config, { LOG_LEVEL: 'warn', LOG_REQUESTS: false, POSTING_LIMITS: false }), db.url);
        try {
          const logins = await seedDemoCommunity(app);
          console.log('\nDemo community ready. Sign in with (handle or e-mail):');
          for (const l of logins) console.log(`  ${l.role.padEnd(26)} login: ${l.login.padEnd(8)} password: ${l.password}`);
        } finally {
          await app.close();
        }
      }),
    );
}
