import { Command } from 'commander';
import { withServices } from '../context';
import { seedDemoCommunity } from '../seed/demo';

export function registerSeedCommands(program: Command): void {
  program
    .command('seed')
    .description('Fill a demo community (groups, spaces, boards, topics) and print the sign-ins')
    .action(() =>
      withServices(async (app) => {
        const logins = await seedDemoCommunity(app);
        console.log('\nDemo community ready. Sign in with:');
        for (const l of logins) console.log(`  ${l.role.padEnd(22)} login: ${l.login.padEnd(12)} password: ${l.password}`);
      }),
    );
}
