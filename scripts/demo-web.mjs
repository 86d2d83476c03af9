// `npm run demo:web`: serves the demo page, cross-origin isolated (so scans run on Web Workers).
// Only demo/ (the page) and dist/ (the library it loads) are served.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8421);
const { url } = await serveStatic(root, true, port, ['demo', 'dist']);
console.log(`ov-memory demo: ${url}/demo/index.html (Ctrl-C to stop)`);
