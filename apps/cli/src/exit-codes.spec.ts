import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ALERT_EXIT } from './exit-codes';

describe('`npm run parvis -- <command>`, as a cron job runs it: its exit code', () => {
  /** package.json's own `parvis` script, run in a folder of its own with `build` and the built CLI standing in for ours. */
  const parvis = (build: string, command: string) => {
    const { scripts } = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { scripts: Record<string, string> };
    const dir = mkdtempSync(path.join(tmpdir(), 'parvis-script-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'parvis-script', private: true, scripts: { build, parvis: scripts.parvis } }));
      mkdirSync(path.join(dir, 'dist/apps/cli/src'), { recursive: true });
      writeFileSync(path.join(dir, 'dist/apps/cli/src/main.js'), command);
      return spawnSync('npm', ['run', '--silent', 'parvis', '--', 'content:versions'], { cwd: dir, encoding: 'utf8' }).status;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it(`is the command's own once built (${ALERT_EXIT}, the alert, included)`, () => {
    expect(parvis('exit 0', `process.exit(${ALERT_EXIT})`)).toBe(ALERT_EXIT);
    expect(parvis('exit 0', 'process.exit(0)')).toBe(0);
  });

  it(`is 1 when the build before the command fails, whatever the build's own code: tsc's for a type error is ${ALERT_EXIT}, and the check never ran`, () => {
    expect(parvis('exit 2', 'process.exit(0)')).toBe(1);
    expect(parvis('exit 1', 'process.exit(0)')).toBe(1);
  });
});
