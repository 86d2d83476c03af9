// Debian's Chromium driven by playwright-core (no browser download): one launcher for the browser
// tests, and one that keeps a profile on disk so a test can kill the browser and start it again.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

function assertInstalled(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/install-chromium.sh (as root), which .ci/run does`);
  }
}

export async function launchChromium(): Promise<Browser> {
  assertInstalled();
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

export interface KillableBrowser {
  browser: Browser;
  /** SIGKILLs the browser and every process it started (a crash: nothing gets to shut down). */
  kill(): Promise<void>;
}

/**
 * Starts Chromium as a process of its own on the profile in `userDataDir` (OPFS, IndexedDB outlive
 * it) and connects to it, so that a test can kill it mid-write and start it again on the same profile.
 */
export async function startWithProfile(userDataDir: string): Promise<KillableBrowser> {
  assertInstalled();
  const child = spawn(CHROMIUM, [...ARGS, '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'], {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before it listened:\n${seen}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint);
  return {
    browser,
    kill: async () => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      await exited;
    },
  };
}
