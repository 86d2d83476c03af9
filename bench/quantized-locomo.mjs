// Quantized rows on LoCoMo: `ov-memory eval` on the five dev conversations with each quantization
// and oversampling, under the default rule (hybrid and vector mode: the vector channel asks for its
// top 100) and under `--rank similarity` (plain cosine top 10, so k × oversample is 10 × F), and the
// difference of each from float32 in the same run. One eval process a setting; each embeds the
// turns and questions once (about 4 min with USE on 2 cores). Reports are kept in
// bench/out/quantized-locomo/ and a setting already there is not run again (delete it to rerun).
//   npm run build && node bench/quantized-locomo.mjs          (EVAL_EMBEDDER=hashing for a quick check)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const EMBEDDER = process.env.EVAL_EMBEDDER ?? 'use';
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const outDir = new URL(`out/quantized-locomo/${EMBEDDER}/`, import.meta.url);
mkdirSync(outDir, { recursive: true });

// Under the default rule 100 × 16 candidates already hold every turn of every conversation (369–680),
// so only oversample 1 and 4 test the codes there.
const RANKINGS = [
  { name: 'default rule', flags: ['--mode', 'all'], modes: ['hybrid', 'vector'], k: 100,
    rows: [['none'], ['int8'], ['binary', 1], ['binary', 4], ['binary', 16], ['binary', 32], ['binary']] },
  { name: '`--rank similarity`', flags: ['--mode', 'vector', '--rank', 'similarity'], modes: ['vector'], k: 10,
    rows: [['none'], ['int8'], ['binary', 1], ['binary', 4], ['binary', 16], ['binary', 32], ['binary']] },
];

function report(ranking, [quantization, oversample]) {
  const flags = [...ranking.flags, '--quantization', quantization, ...(oversample === undefined ? [] : ['--oversample', String(oversample)])];
  const file = new URL(`${flags.join('_').replace(/-/g, '')}.json`, outDir);
  if (!existsSync(file)) {
    const args = [cli, 'eval', '--embedder', EMBEDDER, '--json', ...flags];
    console.error(`ov-memory ${args.slice(1).join(' ')}`);
    writeFileSync(file, execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 }));
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

const f3 = (x) => x.toFixed(3);
/** A mode's report without its timings: every recall and NDCG, per category and overall. */
const quality = (report) => JSON.stringify(report, (key, value) => (key === 'msPerQuery' ? undefined : value));
const signed = (x) => (Math.abs(x) < 5e-4 ? '0' : `${x > 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`);
const lines = [
  `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}. Embedder: ${EMBEDDER}. Command: \`node bench/quantized-locomo.mjs\`.`, '',
  '| ranking | mode | rows | candidates per conversation | recall_any@5 | Δ | recall_any@10 | Δ | NDCG@10 | Δ | report = float32 |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|',
];
for (const ranking of RANKINGS) {
  const float32 = report(ranking, ['none']);
  for (const row of ranking.rows) {
    const r = report(ranking, row);
    const rows = r.quantization === 'none' ? 'float32' : `${r.quantization}, oversample ${r.oversample}`;
    const candidates = r.quantization === 'none' ? 'every turn' : String(Math.ceil(ranking.k * r.oversample));
    for (const mode of ranking.modes) {
      const got = r.modes[mode].overall, want = float32.modes[mode].overall;
      lines.push(`| ${ranking.name} | ${mode} | ${rows} | ${candidates} | ${f3(got.recallAny['@5'])} | ${signed(got.recallAny['@5'] - want.recallAny['@5'])} | `
        + `${f3(got.recallAny['@10'])} | ${signed(got.recallAny['@10'] - want.recallAny['@10'])} | ${f3(got.ndcg10)} | ${signed(got.ndcg10 - want.ndcg10)} | `
        + `${quality(r.modes[mode]) === quality(float32.modes[mode]) ? 'yes' : 'no'} |`);
    }
  }
}
console.log(lines.join('\n'));
