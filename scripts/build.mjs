// Builds dist/: the kernels (SIMD and scalar) with asc, the ESM and CommonJS bundles, the worker
// script in both formats, the command line, and the type declarations.
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
// Files are overwritten in place (no clean step), so a build never leaves dist/ empty under a running test.

for (const target of ['simd', 'scalar', 'simd-unshared', 'scalar-unshared']) {
  run(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/index.ts', '--config', 'asconfig.json', '--target', target]);
}

// `ov-memory` stays external too: the embedders import the library through its public entry.
const common = { bundle: true, platform: 'neutral', external: ['node:*', 'ov-memory'], target: 'es2022', packages: 'external', sourcemap: true, logLevel: 'warning' };
// `stemmer` is published as ESM only: the CommonJS build bundles it, so `require('ov-memory')` works
// on every Node 20 (require of an ES module needs 20.19 or later).
const bundleEsmOnly = {
  name: 'bundle-esm-only',
  setup(b) {
    b.onResolve({ filter: /^stemmer$/ }, () => ({ path: fileURLToPath(new URL('../node_modules/stemmer/index.js', import.meta.url)) }));
  },
};
const formats = [
  { format: 'esm', ext: '.js', define: {} },
  {
    format: 'cjs',
    ext: '.cjs',
    // CommonJS has no import.meta: locate the wasm files and the worker from __filename instead.
    define: { 'import.meta.url': '__ov_memory_url' },
    banner: { js: 'const __ov_memory_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [bundleEsmOnly],
  },
];
await Promise.all(formats.flatMap(({ format, ext, define, banner, plugins = [] }) => [
  build({
    ...common,
    format,
    banner,
    plugins,
    entryPoints: {
      index: 'src/index.ts', internal: 'src/internal.ts', worker: 'src/engine/worker.ts', 'postgres-worker': 'src/postgres/worker.ts',
      'embedders/use': 'src/embedders/use.ts', 'embedders/openai': 'src/embedders/openai.ts',
      ...(format === 'esm' ? { esbuild: 'src/adapters/esbuild.ts' } : {}),
    },
    outdir: 'dist',
    outExtension: { '.js': ext },
    define: { ...define, __WORKER_FILE__: JSON.stringify(`worker${ext}`), __PG_WORKER_FILE__: JSON.stringify(`postgres-worker${ext}`) },
  }),
]));
// The browser build: everything bundled, with the browser's platform module in place of Node's, so
// no Node built-in (nor piscina, prom-client or the durable store) reaches it.
const browserPlatform = {
  name: 'browser-platform',
  setup(b) {
    b.onResolve({ filter: /(platform|runtime)\/current\.js$/ }, (args) => ({
      path: new URL(`../src/${args.path.includes('runtime') ? 'runtime' : 'platform'}/browser.ts`, import.meta.url).pathname,
    }));
  },
};
await build({
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  entryPoints: { browser: 'src/index.ts', 'browser-worker': 'src/engine/browser-worker.ts', 'browser-store-worker': 'src/persistence/opfs-worker.ts' },
  outdir: 'dist',
  plugins: [browserPlatform],
  define: { __WORKER_FILE__: JSON.stringify('browser-worker.js') },
});

await build({
  ...common,
  platform: 'node',
  format: 'esm',
  entryPoints: { cli: 'src/cli/main.ts' },
  loader: { '.txt': 'text' },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node' },
  define: { __WORKER_FILE__: JSON.stringify('worker.js'), __PG_WORKER_FILE__: JSON.stringify('postgres-worker.js') },
});
// Runnable from a checkout or a linked install, as npm makes it when it installs the package.
chmodSync('dist/cli.js', 0o755);

// `ov-memory/serve`: the HTTP service, importing the library through the package's own entries, so a
// program that imports both gets one library (one set of error classes).
const ownEntries = {
  name: 'own-entries',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/(index|internal)\.js$/ }, (args) => ({ path: `./${args.path.slice(3)}`, external: true }));
  },
};
await build({ ...common, platform: 'node', format: 'esm', entryPoints: { serve: 'src/cli/server.ts' }, outdir: 'dist', plugins: [ownEntries] });

// `ov-memory/mcp`: the MCP server; the library, its embedders, the SDK and zod stay external.
await build({ ...common, platform: 'node', format: 'esm', entryPoints: { mcp: 'src/adapters/mcp/index.ts' }, outdir: 'dist' });

run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
// dist/serve.js's declarations beside it (tsc writes them under dist/cli/, as it does the sources).
writeFileSync('dist/serve.d.ts', "export * from './cli/server.js';\n");

// `ov-memory/langchain`, `ov-memory/langgraph`, `ov-memory/ai-sdk`: ES modules only (each imports its
// framework with a top-level await, so that a missing one is a clear error), importing the library
// through its public entry like the embedders.
await build({
  ...common,
  platform: 'node',
  format: 'esm',
  entryPoints: { 'adapters/langchain': 'src/adapters/langchain.ts', 'adapters/langgraph': 'src/adapters/langgraph.ts', 'adapters/ai-sdk': 'src/adapters/ai-sdk.ts' },
  outdir: 'dist',
});
writeFileSync('dist/mcp.d.ts', "export * from './adapters/mcp/index.js';\n");
