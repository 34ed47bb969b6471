import 'reflect-metadata';
import { Command } from 'commander';
import { handleInterrupts, interrupting } from './interrupt';
import { writeStderr } from './stderr';

/**
 * `npm run parvis -- <command>`. Every command works whether or not the server
 * is running: with the embedded database it joins the server's PostgreSQL or
 * starts one for the duration of the command.
 */
async function parvis(): Promise<Command> {
  const [{ registerAdminCommands }, { registerAuditCommands, registerTrustCommands }, { registerContentCommands }, { registerDatabaseCommands }, { registerEvalSearchCommands }, { registerEvalSpamCommands }, { registerImportCommands }, { registerSchemaCommands }, { registerSearchCommands }, { registerSeedCommands }] = await Promise.all([
    import('./commands/admin.js'),
    import('./commands/audit.js'),
    import('./commands/content.js'),
    import('./commands/database.js'),
    import('./commands/eval-search.js'),
    import('./commands/eval-spam.js'),
    import('./commands/import-stackexchange.js'),
    import('./commands/schema.js'),
    import('./commands/search.js'),
    import('./commands/seed.js'),
  ]);
  // Commander's own errors quote the argument they refuse (a file named as a URL is): through the CLI's writer too.
  const program = new Command('parvis').description('Parvis administration').showHelpAfterError().configureOutput({ writeErr: writeStderr });
  registerDatabaseCommands(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerTrustCommands(program);
  registerSeedCommands(program);
  registerSchemaCommands(program);
  registerEvalSpamCommands(program);
  registerImportCommands(program);
  registerSearchCommands(program);
  registerContentCommands(program);
  registerEvalSearchCommands(program);
  return program;
}

// Signals are the command's before anything opens, before even its commands' modules load
// (Nest, TypeORM, every lib: seconds on a busy machine), as the API's and the worker's are.
// An error nothing caught: said as the command's failure is, its cleanups run, exit 1 (Signals.fail).
handleInterrupts().endOnUncaught();
// Interrupted, a command's work fails as its connections close under it: the interrupt's
// cleanups decide when to exit, and with which code.
parvis()
  .then((program) => program.parseAsync(process.argv))
  .then(
    () => {
      if (!interrupting()) process.exit(process.exitCode ?? 0);
    },
    async (err) => {
      if (interrupting()) return;
      // Loaded only now, as the commands are: it brings the libs' errors (and Nest) with it.
      const { sayError } = await import('./error-text.js');
      sayError(err);
      process.exit(1);
    },
  );
