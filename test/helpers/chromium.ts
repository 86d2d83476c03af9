// Debian's Chromium driven by playwright-core (no browser download): one launcher for the browser
// tests, and one that keeps a profile on disk so a test can kill the browser and start it again.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

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

/** A browser whose profile (OPFS, IndexedDB) lives in `userDataDir` and outlives the process. */
export async function launchWithProfile(userDataDir: string): Promise<BrowserContext> {
  assertInstalled();
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: ARGS });
}
