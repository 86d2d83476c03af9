// `ov-memory eval`: its loaders and metrics on the project's own small fixtures, against values
// worked out by hand, and the command's handling of flags and data.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { parseEvalFile, parseLoCoMo, parseLoCoMoDate, parseLongMemEvalDate } from '../src/cli/eval-data.js';
import { ndcg, recallAll, recallAny, summarizeByCategory } from '../src/cli/eval-metrics.js';
import { random } from './helpers/data.js';

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

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, 'eval', ...args]).then(
  ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);
const mini = new URL('fixtures/locomo-mini.json', import.meta.url).pathname;

describe('ov-memory eval', () => {
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

/**
 * A seeded LoCoMo-format conversation: `turns` turns of made-up words in three sessions, and a
 * question per `turns / questions` turns sharing two of its turn's words among four others.
 */
function syntheticConversation(turns: number, questions: number, seed: number): unknown {
  const rand = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'po', 'da', 'fe'];
  const vocabulary = Array.from({ length: 300 }, () => pick(syllables) + pick(syllables) + pick(syllables));
  const sentence = (n: number) => Array.from({ length: n }, () => pick(vocabulary));
  const sessions: Record<string, unknown> = {};
  const turnWords: string[][] = [];
  for (let s = 1; s <= 3; s++) {
    sessions[`session_${s}_date_time`] = `10:00 am on ${s} May, 2024`;
    sessions[`session_${s}`] = Array.from({ length: turns / 3 }, (_, i) => {
      const words = sentence(8);
      turnWords.push(words);
      return { speaker: i % 2 === 0 ? 'Ana' : 'Ben', dia_id: `D${s}:${i + 1}`, text: words.join(' ') };
    });
  }
  const qa = Array.from({ length: questions }, (_, q) => {
    const turn = q * Math.floor(turns / questions);
    const words = turnWords[turn]!;
    const dia = `D${Math.floor(turn / (turns / 3)) + 1}:${(turn % (turns / 3)) + 1}`;
    return { question: [words[1], ...sentence(2), words[5], ...sentence(2)].join(' '), answer: '-', evidence: [dia], category: 4 };
  });
  return { speaker_a: 'Ana', speaker_b: 'Ben', ...sessions, qa };
}

describe('ov-memory eval --quantization', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ov-eval-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const TURNS = 240;
  const synthetic = join(dir, 'synthetic.json');
  writeFileSync(synthetic, JSON.stringify(syntheticConversation(TURNS, 60, 19)));
  /** A report's recalls and NDCG per mode and category, without the timings. */
  const quality = (stdout: string) => {
    const report = JSON.parse(stdout) as { modes: Record<string, { overall: object; categories: Record<string, object> }> };
    const strip = ({ msPerQuery: _, ...rest }: { msPerQuery?: number }) => rest;
    return Object.fromEntries(Object.entries(report.modes).map(([mode, r]) => [mode, {
      overall: strip(r.overall), categories: Object.fromEntries(Object.entries(r.categories).map(([c, s]) => [c, strip(s)])),
    }]));
  };
  const evalJson = async (...args: string[]) => {
    const result = await run('--json', ...args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return { setting: JSON.parse(result.stdout) as Record<string, unknown>, quality: quality(result.stdout) };
  };

  it('runs int8 and binary rows on the fixture, with the default oversampling in the setting', async () => {
    const float32 = await evalJson(mini);
    expect(float32.setting).toMatchObject({ quantization: 'none' });
    expect(float32.setting).not.toHaveProperty('oversample');
    for (const [quantization, oversample] of [['int8', 4], ['binary', 128]] as const) {
      const quantized = await evalJson('--quantization', quantization, mini);
      expect(quantized.setting).toMatchObject({ quantization, oversample, questions: 4 });
      expect(Object.keys(quantized.quality)).toEqual(['hybrid', 'vector', 'text']);
      // Seven memories: every candidate list holds the whole conversation, so the rerank is exact.
      expect(quantized.quality).toEqual(float32.quality);
    }
  });

  it('equals float32 exactly once k × oversample covers every memory, and differs below it', async () => {
    // With `--rank similarity` the vector channel asks for the top 10: oversample 24 covers 240 turns.
    const similarity = ['--rank', 'similarity', '--mode', 'vector', synthetic];
    const float32 = await evalJson(...similarity);
    expect((await evalJson('--quantization', 'int8', '--oversample', String(TURNS / 10), ...similarity)).quality).toEqual(float32.quality);
    expect((await evalJson('--quantization', 'binary', '--oversample', String(TURNS / 10), ...similarity)).quality).toEqual(float32.quality);
    // Ten candidates by their sign bits alone miss some of the float32 top 10: the store scanned codes.
    expect((await evalJson('--quantization', 'binary', '--oversample', '1', ...similarity)).quality).not.toEqual(float32.quality);

    // The default rule's vector channel asks for 100 candidates: oversample 3 covers 240 turns.
    const rule = await evalJson(synthetic);
    expect((await evalJson('--quantization', 'binary', '--oversample', '3', synthetic)).quality).toEqual(rule.quality);
  });

  it('names the rows in the table\'s heading', async () => {
    const { code, stdout } = await run('--quantization', 'binary', '--oversample', '16', '--mode', 'vector', mini);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('1 conversations, 7 memories, 4 questions, embedder hashing, binary rows, oversample 16');
    expect((await run('--mode', 'vector', mini)).stdout.split('\n')[0]).toBe('1 conversations, 7 memories, 4 questions, embedder hashing, float32 rows');
  });

  it('refuses a bad --quantization or --oversample in one line with exit code 2', async () => {
    const refused = (problem: string) => ({ code: 2, stdout: '', stderr: `ov-memory eval: ${problem} (see ov-memory eval --help)\n` });
    expect(await run('--quantization', 'int4', mini)).toMatchObject(refused('--quantization must be none, int8 or binary, got int4'));
    for (const bad of ['0.5', '0', '1001', 'many', '']) {
      expect(await run('--quantization', 'binary', '--oversample', bad, mini)).toMatchObject(refused(`--oversample must be a number from 1 to 1000, got ${bad}`));
    }
    expect(await run('--oversample', '8', mini)).toMatchObject(refused('--oversample needs --quantization int8 or binary (float32 rows are scanned exactly)'));
  });
});
