import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from './config';

const root = join(__dirname, '../../../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** The variables README's configuration table names, in its order. */
function readmeSettings(): string[] {
  const readme = read('README.md');
  const start = readme.indexOf('\n## Configuration');
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end).matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
}

/** What docker/compose.yml's services decide themselves, or leave out (the embedded PostgreSQL's); its header says so. */
const FIXED_BY_COMPOSE = new Set(['NODE_ENV', 'DATABASE_URL', 'REDIS_URL', 'MEILI_URL', 'HOST', 'PORT', 'MIGRATE_ON_START', 'WORKER_IN_PROCESS']);
const EMBEDDED_ONLY = (name: string): boolean => name === 'PARVIS_DATA_DIR' || name.startsWith('EMBEDDED_PG_');

describe('the deployment files pass every setting an operator may set', () => {
  const settings = readmeSettings();
  const operatorSet = settings.filter((name) => !FIXED_BY_COMPOSE.has(name) && !EMBEDDED_ONLY(name));

  it('reads a table of settings from README (the lists below are not empty by a parsing slip)', () => {
    expect(settings.length).toBeGreaterThan(30);
    expect(settings).toEqual(expect.arrayContaining(['DATABASE_URL', 'API_WORKERS', 'SMTP_URL']));
  });

  it('documents in README every setting AppConfig reads with a default', () => {
    const undocumented = Object.keys(new AppConfig()).filter((key) => /^[A-Z][A-Z0-9_]*$/.test(key) && !settings.includes(key));
    expect(undocumented).toEqual([]);
  });

  it('gives docker/compose.yml’s api and worker each of them from docker/.env', () => {
    const compose = read('docker/compose.yml');
    const block = compose.slice(compose.indexOf('x-parvis-env: &parvis-env'));
    const envBlock = block.slice(0, block.search(/\n\S/));
    const passed = new Set([...envBlock.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]));
    expect(operatorSet.filter((name) => !passed.has(name))).toEqual([]);
  });

  it('shows each of them in docker/.env.example', () => {
    const example = read('docker/.env.example');
    const shown = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect(operatorSet.filter((name) => !shown.has(name))).toEqual([]);
  });
});
