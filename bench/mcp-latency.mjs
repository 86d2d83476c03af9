// What an MCP tool call costs beside the library call it makes, on a store of N memories.
//
//   npm run build && node bench/mcp-latency.mjs [N]      (default N = 100,000; results: bench/out/mcp-latency.md)
//
// The store: N synthetic notes (a seeded vocabulary of 400 words, 12 words each), remembered with
// the hashing embedder (512 dimensions, what `ov-memory mcp --embedder hashing` uses) into a durable
// directory. Then, in one run, one after the other on the same directory: the library in-process
// (`search` with a string, `remember`), `ov-memory mcp` over stdio driven by the SDK's Client (the
// process that holds the store), and a second `ov-memory mcp` on the same directory that forwards
// to the first over the local socket. 300 calls of each kind per column, after 20 warm-up calls;
// p50 and p99 in ms, and each as a ratio to in-process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { random } from './lib.mjs';

const N = Number(process.argv[2] ?? 100_000);
const CALLS = 300;
const WARMUP = 20;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const rand = random(42);
const vocabulary = Array.from({ length: 400 }, (_, i) => `w${(i * 7919).toString(36)}`);
const sentence = (words) => Array.from({ length: words }, () => vocabulary[Math.floor(rand() * vocabulary.length)]).join(' ');

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
async function measure(run) {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    await run(WARMUP + i);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const root = mkdtempSync(path.join(tmpdir(), 'ov-memory-mcp-bench-'));
const dir = path.join(root, 'store');
const embedder = hashingEmbedder({ dim: 512 });
const queries = Array.from({ length: CALLS + WARMUP }, () => sentence(4));
const notes = (label) => Array.from({ length: CALLS + WARMUP }, (_, i) => `${label} ${i}: ${sentence(12)}`);

try {
  console.log(`building a store of ${N.toLocaleString('en')} memories…`);
  {
    const memory = await OVMemory.open(dir, { dim: 512, embedder, durability: 'none' });
    for (let start = 0; start < N; start += 5_000) {
      await memory.rememberMany(Array.from({ length: Math.min(5_000, N - start) }, () => ({ text: sentence(12) })), { link: 'none' });
    }
    await memory.checkpoint();
    await memory.close();
  }

  const results = {};
  {
    const memory = await OVMemory.open(dir, { embedder });
    const texts = notes('in-process');
    results['in-process library'] = {
      recall: await measure((i) => memory.search(queries[i], { topK: 5 })),
      remember: await measure((i) => memory.remember({ text: texts[i] })),
    };
    await memory.close();
  }

  const spawnClient = async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--dir', dir, '--embedder', 'hashing'], stderr: 'ignore' });
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(transport);
    return client;
  };
  const toolCalls = (client, label) => {
    const texts = notes(label);
    return {
      recall: () => measure((i) => client.callTool({ name: 'recall', arguments: { query: queries[i], topK: 5 } })),
      remember: () => measure((i) => client.callTool({ name: 'remember', arguments: { text: texts[i] } })),
    };
  };
  const owner = await spawnClient();
  const ownerCalls = toolCalls(owner, 'owner');
  results['MCP over stdio (the process holding the store)'] = { recall: await ownerCalls.recall(), remember: await ownerCalls.remember() };
  const follower = await spawnClient();
  const followerCalls = toolCalls(follower, 'follower');
  results['MCP over stdio, forwarded by a second server'] = { recall: await followerCalls.recall(), remember: await followerCalls.remember() };
  await follower.close();
  await owner.close();

  const base = results['in-process library'];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const row = (name, r) => `| ${name} | ${r.recall.p50.toFixed(2)} (${(r.recall.p50 / base.recall.p50).toFixed(2)}×) | ${r.recall.p99.toFixed(2)} (${(r.recall.p99 / base.recall.p99).toFixed(2)}×) | ` +
    `${r.remember.p50.toFixed(3)} (${(r.remember.p50 / base.remember.p50).toFixed(1)}×) | ${r.remember.p99.toFixed(3)} (${(r.remember.p99 / base.remember.p99).toFixed(1)}×) |`;
  const table = [
    `N = ${N.toLocaleString('en')} memories, hashing embedder (512), ${CALLS} calls each after ${WARMUP} warm-up; ${cpus().length} × ${cpu}, Node ${process.version}.`,
    '',
    '| caller | recall p50 ms | recall p99 ms | remember p50 ms | remember p99 ms |',
    '|---|---:|---:|---:|---:|',
    ...Object.entries(results).map(([name, r]) => row(name, r)),
  ].join('\n');
  console.log(table);
  mkdirSync(new URL('out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('out/mcp-latency.md', import.meta.url), `${table}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
