import { GraphQLSchemaHost } from '@nestjs/graphql';
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { createApp } from '../../../api/src/app';
import { printSortedSchema } from '../../../api/src/schema-printer';
import { withDatabase } from '../context';
import { report } from '../stderr';

export function registerSchemaCommands(program: Command): void {
  program
    .command('schema:print')
    .description('Print the GraphQL schema (or write it with --out)')
    .option('--out <file>', 'file to write')
    .action((opts: { out?: string }) =>
      withDatabase(async ({ config, db }) => {
        const app = await createApp(Object.assign(config, { LOG_LEVEL: 'warn' }), db.url);
        try {
          const sdl = printSortedSchema(app.get(GraphQLSchemaHost).schema);
          if (opts.out) {
            writeFileSync(opts.out, sdl);
            report(`Wrote ${opts.out}`);
          } else {
            process.stdout.write(sdl);
          }
        } finally {
          await app.close();
        }
      }),
    );
}
