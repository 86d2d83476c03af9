// The demo page: a durable store in the page (kept in the origin private file system, so what you
// add is there after a reload), the built-in hashing embedder, and 5,000 background memories so
// that the scan has something to do. A second tab finds the store LOCKED and works in memory.
import { hashingEmbedder, OVMemory } from '/dist/browser.js';

const embedder = hashingEmbedder({ dim: 384 });
const $ = (id) => document.getElementById(id);
let kept = 'kept in this browser';
let memory;
try {
  memory = await OVMemory.open('demo', { dim: embedder.dim, logLevel: 'silent' });
} catch (error) {
  if (error.code !== 'LOCKED' && error.code !== 'UNSUPPORTED') throw error;
  kept = error.code === 'LOCKED' ? 'in memory only: the store is open in another tab' : 'in memory only: this browser cannot keep a store';
  memory = await OVMemory.create({ dim: embedder.dim, logLevel: 'silent' });
}

const notes = [
  'The user prefers green tea to coffee in the morning',
  'The user’s cat is called Miso and is afraid of the vacuum cleaner',
  'The weekly team meeting moved from Monday to Friday at 10:00',
  'The production database is backed up every night at 02:00 UTC',
  'The user is learning Japanese and practises kanji on weekdays',
  'The API key for the weather service rotates on the first of each month',
  'The user’s sister lives in Lisbon and visits in December',
  'The flight to Kyoto leaves on 14 April from gate B22',
];
const topics = ['travel', 'cooking', 'music', 'finance', 'health', 'sport', 'science', 'history', 'code', 'gardening'];
const background = Array.from({ length: 5000 }, (_, i) => `note ${i} about ${topics[i % 10]} and ${topics[(i * 7) % 10]} ${i % 13}`);
if (memory.size === 0) {
  const now = Date.now();
  memory.addMany(embedder.embed(background).map((embedding, i) => ({ embedding, text: background[i], createdAt: now - 30 * 86_400_000 })), { link: 'none' });
  memory.addMany(embedder.embed(notes).map((embedding, i) => ({ embedding, text: notes[i], weight: 1.5 })));
  await memory.flush();
}

function status() {
  const h = memory.health();
  $('status').textContent = `${memory.size.toLocaleString()} memories (${kept}) · executor: ${memory.executor} · ${crossOriginIsolated ? 'cross-origin isolated' : 'not isolated'} · health: ${h.status}`;
}

async function search(text) {
  const started = performance.now();
  const hits = await memory.search(embedder.embed([text])[0], { topK: 5 });
  $('timing').textContent = `“${text}”: ${hits.length} hits in ${(performance.now() - started).toFixed(2)} ms over ${memory.size.toLocaleString()} memories`;
  $('hits').tBodies[0].replaceChildren(...hits.map((h, i) => {
    const row = document.createElement('tr');
    for (const [value, numeric] of [[i + 1], [h.text], [h.score.toFixed(3), true], [h.similarity.toFixed(3), true], [h.factors.recency.toFixed(3), true], [h.factors.weight, true]]) {
      const cell = document.createElement('td');
      cell.textContent = String(value);
      if (numeric) cell.className = 'num';
      row.append(cell);
    }
    return row;
  }));
  status();
}

$('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  memory.add({ embedding: embedder.embed([text])[0], text, weight: 1.5 });
  $('text').value = '';
  await memory.flush();   // durable from here on: a reload finds it
  status();
  window.__added = (window.__added ?? 0) + 1;
});
$('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('query').value.trim();
  if (text) search(text);
});
status();
window.__ready = true;
