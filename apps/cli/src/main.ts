import 'reflect-metadata';
import { Command } from 'commander';
import { registerAdminCommands } from './commands/admin';
import { registerAuditCommands, registerTrustCommands } from './commands/audit';
import { registerDatabaseCommands } from './commands/database';
import { registerEvalSearchCommands } from './commands/eval-search';
import { registerEvalSpamCommands } from './commands/eval-spam';
import { registerImportCommands } from './commands/import-stackexchange';
import { registerSchemaCommands } from './commands/schema';
import { registerSearchCommands } from './commands/search';
import { registerSeedCommands } from './commands/seed';
import { interrupting } from './interrupt';

/**
 * `npm run parvis -- <command>`. Every command works whether or not the server
 * is running: with the embedded database it joins the server's PostgreSQL or
 * starts one for the duration of the command.
 */
const program = new Command('parvis').description('Parvis administration').showHelpAfterError();
registerDatabaseCommands(program);
registerAdminCommands(program);
registerAuditCommands(program);
registerTrustCommands(program);
registerSeedCommands(program);
registerSchemaCommands(program);
registerEvalSpamCommands(program);
registerImportCommands(program);
registerSearchCommands(program);
registerEvalSearchCommands(program);

// Interrupted, a command's work fails as its connections close under it: the interrupt's
// cleanups decide when to exit, and with which code.
program.parseAsync(process.argv).then(
  () => {
    if (!interrupting()) process.exit(process.exitCode ?? 0);
  },
  (err) => {
    if (interrupting()) return;
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
