// Runs the MCP conformance suite's server scenarios against `ov-memory mcp --http`.
//
//   npm run build && node scripts/mcp-conformance.mjs        (fetches the suite with npx; writes bench/out/mcp-conformance.txt)
//
// @modelcontextprotocol/conformance 0.1.13 is the last release that runs on Node 20 (0.1.14 and
// later need Node 22's fs.globSync). Many scenarios call the fixtures of the suite's own reference
// server (tools such as test_image_content, resources such as test://static-text, prompts), which a
// memory server does not have; the summary names each scenario with what it found.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITE = '@modelcontextprotocol/conformance@0.1.13';
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'ov-memory-conformance-'));
const server = spawn(process.execPath, [CLI, 'mcp', '--http', '--port', '0', '--dir', path.join(root, 'store'), '--embedder', 'hashing'], { stdio: ['ignore', 'ignore', 'pipe'] });
try {
  const url = await new Promise((resolve, reject) => {
    let stderr = '';
    server.stderr.on('data', (chunk) => {
      stderr += chunk;
      const found = /listening on (\S+)/.exec(stderr)?.[1];
      if (found) resolve(found);
    });
    server.once('exit', (code) => reject(new Error(`ov-memory mcp exited ${code}: ${stderr}`)));
  });
  // Its results/ folder goes to the temporary directory, not into the project.
  const run = spawnSync('npx', ['--yes', SUITE, 'server', '--url', url], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  const output = `${run.stdout}${run.stderr}`;
  const summary = output.slice(output.indexOf('=== SUMMARY ==='));
  console.log(summary);
  mkdirSync(new URL('../bench/out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../bench/out/mcp-conformance.txt', import.meta.url), `${SUITE} server --url ${url}\n\n${summary}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)));
  rmSync(root, { recursive: true, force: true });
}
