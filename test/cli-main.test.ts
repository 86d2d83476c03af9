// `ov-memory` itself: usage without a command, --version, --help, an unknown command; and npm start.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ov-memory', () => {
  it('without a command prints the usage on stderr and exits 2, running nothing', () => {
    const r = cli();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: ov-memory <command>/);
    for (const command of ['bench', 'demo', 'score', 'serve']) expect(r.stderr).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(['--version', '-v'])('%s prints the package\'s version', (flag) => {
    expect(cli(flag)).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it.each(['--help', '-h'])('%s prints the usage on stdout and exits 0', (flag) => {
    const r = cli(flag);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^usage: ov-memory <command>/);
  });

  it('an unknown command exits 2 naming it', () => {
    const r = cli('sevre');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ov-memory: unknown command "sevre"/);
  });

  it('npm start still runs the demo', () => {
    expect(pkg.scripts.start).toBe('node dist/cli.js demo');
  });
});
