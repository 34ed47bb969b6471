import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Command } from 'commander';
import { AppError } from '../../../../libs/core/src/errors';
import { SignUpInput } from '../../../../libs/identity/src/auth/dto/auth.inputs';
import { AuthService } from '../../../../libs/identity/src/auth/auth.service';
import { withServices } from '../context';

/** The password piped in (`--password-stdin`): the first line, so it stays out of `ps` and shell history. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new Error('--password-stdin reads the password piped in; there is none (use the prompt instead)');
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const password = text.split(/\r?\n/)[0];
  if (!password) throw new Error('--password-stdin: nothing was piped in');
  return password;
}

async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new Error('--password (or --password-stdin) is required when there is no terminal to prompt on');
  const { default: password } = await import('@inquirer/password');
  return password({ message: 'Password for the new admin (at least 10 characters):', mask: '*' });
}

export function registerAdminCommands(program: Command): void {
  program
    .command('admin:create')
    .description('Create an administrator account')
    .requiredOption('--email <email>', 'e-mail address')
    .requiredOption('--handle <handle>', 'handle (3–30 of a-z, 0-9, _ and -)')
    .option('--password <password>', 'password (prompted for when absent; shows in `ps` and shell history: prefer the prompt or --password-stdin)')
    .option('--password-stdin', 'read the password from the first line piped in (for scripts)')
    .option('--display-name <name>', 'display name')
    .action(async (opts: { email: string; handle: string; password?: string; passwordStdin?: boolean; displayName?: string }) => {
      if (opts.password !== undefined && opts.passwordStdin) throw new Error('give --password or --password-stdin, not both');
      const password = opts.password ?? (opts.passwordStdin ? await readPasswordFromStdin() : await askPassword());
      const input = plainToInstance(SignUpInput, { email: opts.email, handle: opts.handle, password, displayName: opts.displayName });
      const errors = await validate(input);
      // Refused as the API refuses a sign-up, BAD_USER_INPUT naming each field (printed by main).
      if (errors.length) throw AppError.badInput(errors.flatMap((e) => Object.values(e.constraints ?? {}).map((message) => ({ field: e.property, message }))));
      await withServices(async (app) => {
        const { user } = await app.get(AuthService).createAccount(input, 'ADMIN');
        console.log(`Created admin @${user.handle} (${user.id}).`);
      });
    });
}
