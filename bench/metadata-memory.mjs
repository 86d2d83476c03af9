// The metadata index's byte estimate against the heap it really takes: builds indexes of a few
// shapes, measures process.memoryUsage().heapUsed after a forced GC, and prints estimate / measured.
// Run: npm run build && node --expose-gc bench/metadata-memory.mjs   (writes bench/out/metadata-memory.json)
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { MetadataIndex } from '../dist/internal.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const shapes = {
  // Issue-sized: every memory brings its own fields (the case that grew the heap 84× past the account).
  'distinct fields, 256 per memory × 400': (i) => Object.fromEntries(Array.from({ length: 256 }, (_, f) => [`m${i}f${f}`, f])),
  'shared fields, 10 per memory × 50,000, distinct values': (i) => Object.fromEntries(Array.from({ length: 10 }, (_, f) => [`field${f}`, `v${i}-${f}`])),
  'shared fields and values, 8 per memory × 50,000': (i) => ({ kind: ['fact', 'event', 'preference'][i % 3], year: 2000 + (i % 25), tags: ['a', 'b', 'c'].slice(0, 1 + (i % 3)), user: { id: `u${i % 100}` }, shared: i % 2 === 0 }),
  'string arrays, 40 tags per memory × 10,000 from 5,000': (i) => ({ tags: Array.from({ length: 40 }, (_, t) => `tag-${(i * 7 + t * 13) % 5_000}`) }),
};
const counts = { 'distinct fields, 256 per memory × 400': 400, 'shared fields, 10 per memory × 50,000, distinct values': 50_000, 'shared fields and values, 8 per memory × 50,000': 50_000, 'string arrays, 40 tags per memory × 10,000 from 5,000': 10_000 };

const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
const results = [];
for (const [name, make] of Object.entries(shapes)) {
  const metadata = Array.from({ length: counts[name] }, (_, i) => make(i));
  const before = heap();
  const index = new MetadataIndex(undefined);
  metadata.forEach((m, id) => index.add(id, m));
  const built = heap() - before;
  // A range query builds the sorted lists the estimate already counts.
  index.match({ year: { $gte: 0 } }, counts[name]);
  index.match({ [Object.keys(metadata[0])[0]]: { $gte: '' } }, counts[name]);
  const withSorted = heap() - before;
  results.push({ shape: name, estimate: index.bytes, measured: built, measuredWithSorted: withSorted, ratio: index.bytes / withSorted, ratioBeforeRanges: index.bytes / built });
  console.log(`${name}: estimate ${(index.bytes / 1e6).toFixed(1)} MB, heap ${(built / 1e6).toFixed(1)} MB (${(withSorted / 1e6).toFixed(1)} MB with sorted lists): estimate / heap ${(index.bytes / withSorted).toFixed(2)} (${(index.bytes / built).toFixed(2)} before ranges)`);
  index.match({}, 1);   // keep the index alive until measured
}
mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
writeFileSync(new URL('./out/metadata-memory.json', import.meta.url), JSON.stringify({ node: process.version, cpu: os.cpus()[0]?.model, results }, null, 2));
