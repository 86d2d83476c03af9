// Takes docs/demo.png: the demo page in headless Chromium after one search.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveStatic } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const server = await serveStatic(root, true);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
const page = await browser.newPage({ viewport: { width: 960, height: 560 } });
await page.goto(`${server.url}/demo/index.html`);
await page.waitForFunction(() => window.__ready === true);
await page.fill('#query', 'what is the name of the cat?');
await page.click('#search button');
await page.waitForSelector('#hits tbody tr');
await page.screenshot({ path: path.join(root, 'docs/demo.png') });
await browser.close();
await server.close();
console.log('docs/demo.png written');
