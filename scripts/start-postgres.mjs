#!/usr/bin/env node
// A throwaway PostgreSQL for the tests and benchmarks: `initdb` and `pg_ctl` in a temporary
// directory, listening on a Unix socket there only (no TCP port to collide with anything). The
// binaries come from Debian's packages (/usr/lib/postgresql/N/bin); when they are missing and this
// is root, Debian's `postgresql` package is installed, as scripts/install-chromium.sh does for
// Chromium. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
// (or `nobody`) in a directory given to it.
//
//   import { startPostgres } from '../scripts/start-postgres.mjs';
//   const pg = await startPostgres();   // pg.url, pg.restart(), pg.stop()
//
// As a command (`node scripts/start-postgres.mjs`) it starts one, prints its URL and stops it on
// SIGINT or SIGTERM; with `--install` it only makes sure the binaries are there (CI runs that).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest installed PostgreSQL's bin directory, or undefined. */
function findBinaries() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : undefined;
}

function installBinaries() {
  if (process.getuid?.() !== 0) {
    throw new Error("start-postgres: PostgreSQL's binaries are missing and this is not root: run 'sudo apt-get install -y postgresql'");
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** As root: the user the server runs as (it refuses root), with its uid and gid. */
function serverUser() {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0) return { name, uid: Number(id.stdout), gid: Number(gid.stdout) };
  }
  throw new Error('start-postgres: running as root, and neither a `postgres` nor a `nobody` user exists to run the server');
}

/**
 * Starts a new cluster and returns its URL (a Unix socket in its own temporary directory) with
 * restart() (`pg_ctl restart`, for fault tests) and stop() (stops it and deletes the directory).
 */
export async function startPostgres({ quiet = true } = {}) {
  const bin = ensureBinaries();
  const user = serverUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'ov-memory-pg-'));
  const data = path.join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const stdio = quiet ? 'ignore' : 'inherit';
  const run = (tool, args) => {
    const command = path.join(bin, tool);
    if (user) execFileSync('runuser', ['-u', user.name, '--', command, ...args], { stdio, cwd: dir });
    else execFileSync(command, args, { stdio, cwd: dir });
  };
  const superuser = 'postgres';
  run('initdb', ['-D', data, '-U', superuser, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // Only the socket: no TCP port to collide with anything on the machine.
  const settings = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c fsync=off -c max_connections=200`;
  const start = () => run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', settings, '-w', '-t', '60', 'start']);
  start();
  let running = true;
  const url = `postgresql://${superuser}@localhost/postgres?host=${encodeURIComponent(dir)}`;
  return {
    url,
    dir,
    /** A database of its own (created here) for one test or benchmark: its URL. */
    database(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`start-postgres: a database name of letters, digits and _, got ${name}`);
      execFileSync(path.join(bin, 'psql'), ['-h', dir, '-U', superuser, '-d', 'postgres', '-qAtc', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
      return `postgresql://${superuser}@localhost/${name}?host=${encodeURIComponent(dir)}`;
    },
    /** Runs one SQL statement with psql and returns its rows as text (`|` between columns). */
    sql(statement, database = 'postgres') {
      return execFileSync(path.join(bin, 'psql'), ['-h', dir, '-U', superuser, '-d', database, '-qAtc', statement], { encoding: 'utf8' }).trim();
    },
    restart() {
      run('pg_ctl', ['-D', data, '-o', settings, '-w', '-t', '60', '-m', 'fast', 'restart']);
    },
    /** Stops the server (the connections see it go away); start() brings it back. */
    stopServer() {
      run('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
    },
    start,
    stop() {
      if (!running) return;
      running = false;
      try { run('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'immediate', 'stop']); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Makes sure the binaries are there (installing Debian's package when they are not), and says where. */
export function ensureBinaries() {
  if (!findBinaries()) installBinaries();
  const bin = findBinaries();
  if (!bin) throw new Error('start-postgres: postgresql was installed but no /usr/lib/postgresql/N/bin/pg_ctl was found');
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--install') {
  console.log(`start-postgres: PostgreSQL's binaries are in ${ensureBinaries()}`);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pg = await startPostgres({ quiet: false });
  console.log(pg.url);
  const stop = () => { pg.stop(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (userInfo().uid === 0) console.error('start-postgres: the server runs as a non-root user; Ctrl-C stops it and deletes its directory');
  setInterval(() => {}, 1 << 30);
}
