// The `ov-memory` command: one subcommand a module, loaded on demand.
import { createRequire } from 'node:module';

type Command = { run(argv: string[]): Promise<number> };

const commands: Record<string, () => Promise<Command>> = {
  bench: () => import('./bench.js'),
  demo: () => import('./demo.js'),
  eval: () => import('./eval.js'),
  mcp: () => import('./mcp.js'),
  score: () => import('./score.js'),
  serve: () => import('./serve.js'),
};

const usage = `usage: ov-memory <command> [options]

commands:
  bench   how fast search runs on this machine, beside plain JavaScript, the memory bandwidth and peers
  demo    the library end to end on a built-in corpus (what npm start runs)
  eval    retrieval quality on LoCoMo or LongMemEval conversations (recall@k, NDCG@10)
  mcp     the store as an MCP server (the reference memory server's tools and ov-memory's own)
  score   batch scoring: the top-k of every query against a corpus file
  serve   the durable store behind an HTTP API (search, context, metrics, health)

ov-memory <command> --help shows a command's options; ov-memory --version the package's version.`;

/** The version in the package's own package.json (dist/cli.js sits one folder below it). */
function version(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

const [command, ...argv] = process.argv.slice(2);
if (command === undefined) {
  // No command is a usage error: a script that forgot its command fails instead of running something.
  console.error(usage);
  process.exitCode = 2;
} else if (command === '--help' || command === '-h') {
  console.log(usage);
} else if (command === '--version' || command === '-v') {
  console.log(version());
} else if (!(command in commands)) {
  console.error(`ov-memory: unknown command ${JSON.stringify(command)}\n\n${usage}`);
  process.exitCode = 2;
} else {
  process.exitCode = await (await commands[command]!()).run(argv);
}

export {};
