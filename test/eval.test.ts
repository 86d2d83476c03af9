// `ov-memory eval`: its loaders and metrics on the project's own small fixtures, against values
// worked out by hand, and the command's handling of flags and data.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { parseEvalFile, parseLoCoMo, parseLoCoMoDate, parseLongMemEvalDate } from '../src/cli/eval-data.js';
import { ndcg, recallAll, recallAny, summarizeByCategory } from '../src/cli/eval-metrics.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
const DAY = 86_400_000;

describe('eval data - LoCoMo', () => {
  const c = parseLoCoMo(fixture('locomo-mini.json'), 'mini');

  it('stores each turn as "Speaker: text", with the shared image\'s caption, at its session\'s time', () => {
    expect(c.memories.map((m) => m.text)).toEqual([
      'Ana: Hi Ben! I finally adopted a greyhound named Comet.',
      'Ben: Congratulations! I started learning the cello last month.',
      'Ana: Comet loves long walks by the river.',
      'Ben: Here is my first recital program. [shares a photo of a cello on a stage]',
      'Ana: I ran a half marathon in Lisbon on Sunday.',
      'Ben: Amazing. My cello teacher moved to Porto, so I practise alone now.',
      'Ana: Comet stayed with my sister while I was in Lisbon.',
    ]);
    const march = Date.UTC(2024, 2, 3, 13, 0);
    const april = Date.UTC(2024, 3, 17, 10, 30);
    expect(c.memories.map((m) => m.createdAt)).toEqual([march, march, march, march, april, april, april]);
    expect(c.memories[4]!.metadata).toEqual({ turn: 'D2:1', session: 2 });
    // A session time without turns (session_3) does not count: now is a day after the last session held.
    expect(c.now).toBe(april + DAY);
  });

  it('keeps categories 1–4, splits malformed evidence, and drops ids that name no turn', () => {
    expect(c.questions).toEqual([
      { text: "What is the name of Ana's greyhound?", category: 'single-hop', evidence: [0] },
      { text: 'When did Ana run the half marathon?', category: 'temporal', evidence: [4] },
      { text: "Where did Ben's cello teacher move, and what instrument does Ben play?", category: 'multi-hop', evidence: [1, 5] },
      { text: 'Would Comet enjoy long walks?', category: 'open-domain', evidence: [2] },
    ]);
    expect(c.skipped).toBe(2); // the adversarial question, and the one whose evidence names no turn
  });

  it('reads session times', () => {
    expect(parseLoCoMoDate('1:56 pm on 8 May, 2023')).toBe(Date.UTC(2023, 4, 8, 13, 56));
    expect(parseLoCoMoDate('12:09 am on 13 September, 2023')).toBe(Date.UTC(2023, 8, 13, 0, 9));
    expect(parseLoCoMoDate('12:30 pm on 1 January, 2024')).toBe(Date.UTC(2024, 0, 1, 12, 30));
    expect(parseLongMemEvalDate('2023/05/20 (Sat) 02:21')).toBe(Date.UTC(2023, 4, 20, 2, 21));
    expect(() => parseLoCoMoDate('yesterday')).toThrow('unreadable session time "yesterday"');
  });

  it('says what is wrong with a malformed file', () => {
    expect(() => parseLoCoMo({ session_1: [], qa: [] }, 'empty')).toThrow('empty has no turns');
    expect(() => parseLoCoMo({ session_1: [{ speaker: 'A', text: 'x' }], session_1_date_time: '1:00 pm on 1 May, 2023', qa: [] }, 'f'))
      .toThrow('f: session_1[0].dia_id is not a string');
  });
});

describe('eval data - LongMemEval', () => {
  const [answerable, abstention] = parseEvalFile(fixture('longmemeval-mini.json'), 'lme');

  it('takes turn-level has_answer as the evidence, role as the speaker', () => {
    expect(answerable!.memories.map((m) => m.text)).toEqual([
      'user: I just adopted a beagle puppy!', 'assistant: Congratulations on your new beagle!',
      'user: Can you suggest a pasta recipe?', 'assistant: Try a simple carbonara.',
    ]);
    expect(answerable!.memories.map((m) => m.createdAt)).toEqual([
      Date.UTC(2024, 3, 1, 9, 0), Date.UTC(2024, 3, 1, 9, 0), Date.UTC(2024, 3, 20, 18, 30), Date.UTC(2024, 3, 20, 18, 30),
    ]);
    expect(answerable!.questions).toEqual([{ text: 'What breed is my dog?', category: 'single-session-user', evidence: [0] }]);
    expect(answerable!.now).toBe(Date.UTC(2024, 3, 20, 18, 30) + DAY);
  });

  it('skips an abstention question (nothing to retrieve)', () => {
    expect(abstention!.questions).toEqual([]);
    expect(abstention!.skipped).toBe(1);
  });
});

describe('eval metrics', () => {
  const log2 = Math.log2;
  it('recall_any, recall_all and NDCG of one ranking', () => {
    const evidence = new Set([1, 5]);
    const ranked = [5, 3, 0, 2, 6, 4, 1];
    expect([1, 5, 10].map((k) => recallAny(ranked, evidence, k))).toEqual([1, 1, 1]);
    expect([1, 5, 10].map((k) => recallAll(ranked, evidence, k))).toEqual([0, 0, 1]);
    expect(ndcg(ranked, evidence, 10)).toBeCloseTo((1 + 1 / log2(8)) / (1 + 1 / log2(3)), 14);
    expect(ndcg(ranked, evidence, 5)).toBeCloseTo(1 / (1 + 1 / log2(3)), 14);
    expect(ndcg([], evidence, 10)).toBe(0);
  });

  it('per category and overall, on the fixture\'s questions', () => {
    const c = parseLoCoMo(fixture('locomo-mini.json'), 'mini');
    const rankings = [[0, 2, 6], [6, 5, 4, 0], [5, 3, 0, 2, 6, 4, 1], [6, 5, 4, 3, 1, 0]];
    const results = c.questions.map((q, i) => ({ category: q.category, ranked: rankings[i]!, evidence: q.evidence, ms: i + 1 }));
    const { overall, categories } = summarizeByCategory(results);
    expect(Object.keys(categories)).toEqual(['single-hop', 'temporal', 'multi-hop', 'open-domain']);
    expect(categories.temporal).toEqual({
      questions: 1, recallAny: { '@1': 0, '@5': 1, '@10': 1 }, recallAll: { '@1': 0, '@5': 1, '@10': 1 }, ndcg10: 0.5, msPerQuery: 2,
    });
    expect(categories['open-domain']!.recallAny).toEqual({ '@1': 0, '@5': 0, '@10': 0 });
    expect(overall.questions).toBe(4);
    expect(overall.recallAny).toEqual({ '@1': 0.5, '@5': 0.75, '@10': 0.75 });
    expect(overall.recallAll).toEqual({ '@1': 0.25, '@5': 0.5, '@10': 0.75 });
    expect(overall.ndcg10).toBeCloseTo((1 + 0.5 + (1 + 1 / 3) / (1 + 1 / log2(3)) + 0) / 4, 14);
    expect(overall.msPerQuery).toBe(2.5);
  });
});

describe('ov-memory eval', () => {
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, 'eval', ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  const mini = new URL('fixtures/locomo-mini.json', import.meta.url).pathname;

  it('refuses a bad flag in one line with exit code 2', async () => {
    expect(await run('--mode', 'fuzzy', mini)).toMatchObject({ code: 2, stderr: 'ov-memory eval: --mode must be hybrid, vector, text or all, got fuzzy (see ov-memory eval --help)\n' });
    expect(await run('--embedder', 'bert', mini)).toMatchObject({ code: 2 });
    expect(await run('--alpha', '2', mini)).toMatchObject({ code: 2 });
  });

  it('names what is wrong with a data file, exit code 1', async () => {
    const bad = new URL('fixtures/crash-writer.mjs', import.meta.url).pathname; // not JSON
    const result = await run(bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ov-memory eval: /);
  });

  // Runs once the store has the text API (an embedder, rememberMany, string queries with a mode).
  it.runIf(typeof (OVMemory.prototype as unknown as Record<string, unknown>).rememberMany === 'function')(
    'text mode on the fixture gives the recalls worked out by hand', async () => {
      const { code, stdout } = await run('--mode', 'text', '--json', mini);
      expect(code).toBe(0);
      const report = JSON.parse(stdout);
      // Each question shares its rarest words with its evidence only: every first hit is evidence;
      // the multi-hop question's second turn ("cello", "Ben") is in the top 5.
      expect(report.modes.text.overall.recallAny).toEqual({ '@1': 1, '@5': 1, '@10': 1 });
      expect(report.modes.text.overall.recallAll).toEqual({ '@1': 0.75, '@5': 1, '@10': 1 });
    });
});
