// Loaders for `ov-memory eval`: LoCoMo conversations and LongMemEval instances, both turned into one
// shape: the memories to store (one per turn, "Speaker: text", created at its session's time), the
// questions with the indexes of their evidence turns, and the time to search at (one day after the
// last session).

export interface EvalMemory {
  text: string;
  createdAt: number;
  metadata: { turn: string; session: number };
}

export interface EvalQuestion {
  text: string;
  category: string;
  /** Indexes into `memories` of the turns that hold the answer (never empty). */
  evidence: number[];
}

export interface EvalConversation {
  name: string;
  memories: EvalMemory[];
  questions: EvalQuestion[];
  /** Questions dropped: no evidence that names a turn, or a category not evaluated. */
  skipped: number;
  now: number;
}

export class EvalDataError extends Error {}

const DAY_MS = 86_400_000;
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** LoCoMo's categories 1–4 (5, adversarial questions with no answer in the conversation, is skipped). */
export const LOCOMO_CATEGORIES: Readonly<Record<number, string>> = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop' };

/** LoCoMo's session times, e.g. "1:56 pm on 8 May, 2023", as ms since epoch (UTC). */
export function parseLoCoMoDate(text: string): number {
  const m = /^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([a-z]+),?\s+(\d{4})\s*$/i.exec(text);
  const month = m ? MONTHS.indexOf(m[5]!.toLowerCase()) : -1;
  if (!m || month < 0) throw new EvalDataError(`unreadable session time ${JSON.stringify(text)}`);
  const hour = (Number(m[1]) % 12) + (m[3]!.toLowerCase() === 'pm' ? 12 : 0);
  return Date.UTC(Number(m[6]), month, Number(m[4]), hour, Number(m[2]));
}

/** LongMemEval's session times, e.g. "2023/05/20 (Sat) 02:21", as ms since epoch (UTC). */
export function parseLongMemEvalDate(text: string): number {
  const m = /^\s*(\d{4})\/(\d{2})\/(\d{2})(?:\s*\([A-Za-z]+\))?\s+(\d{2}):(\d{2})\s*$/.exec(text);
  if (!m) throw new EvalDataError(`unreadable session time ${JSON.stringify(text)}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EvalDataError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new EvalDataError(`${what} is not an array`);
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new EvalDataError(`${what} is not a string`);
  return value;
}

/** One LoCoMo conversation (a file of `locomo10_v2/`, or one item of `locomo10.json`). */
export function parseLoCoMo(data: unknown, name: string): EvalConversation {
  const root = object(data, name);
  const conversation = root.conversation === undefined ? root : object(root.conversation, `${name}: conversation`);
  const sessions = Object.keys(conversation)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const memories: EvalMemory[] = [];
  const turnIndex = new Map<string, number>();
  let last = -Infinity;
  for (const session of sessions) {
    const turns = array(conversation[`session_${session}`], `${name}: session_${session}`);
    if (turns.length === 0) continue;
    const createdAt = parseLoCoMoDate(string(conversation[`session_${session}_date_time`], `${name}: session_${session}_date_time`));
    last = Math.max(last, createdAt);
    turns.forEach((value, i) => {
      const turn = object(value, `${name}: session_${session}[${i}]`);
      const id = string(turn.dia_id, `${name}: session_${session}[${i}].dia_id`);
      const caption = typeof turn.blip_caption === 'string' ? ` [shares ${turn.blip_caption}]` : '';
      turnIndex.set(id, memories.length);
      memories.push({
        text: `${string(turn.speaker, `${name}: ${id}.speaker`)}: ${string(turn.text, `${name}: ${id}.text`)}${caption}`,
        createdAt,
        metadata: { turn: id, session },
      });
    });
  }
  if (memories.length === 0) throw new EvalDataError(`${name} has no turns`);
  const questions: EvalQuestion[] = [];
  let skipped = 0;
  array(root.qa, `${name}: qa`).forEach((value, i) => {
    const qa = object(value, `${name}: qa[${i}]`);
    const category = LOCOMO_CATEGORIES[qa.category as number];
    // A few evidence entries hold several ids in one string ("D8:6; D9:17") or name no turn.
    const ids = array(qa.evidence ?? [], `${name}: qa[${i}].evidence`).flatMap((e) => String(e).split(/[\s;,]+/));
    const evidence = [...new Set(ids.map((id) => turnIndex.get(id)).filter((x): x is number => x !== undefined))];
    if (category === undefined || evidence.length === 0 || typeof qa.question !== 'string') {
      skipped++;
      return;
    }
    questions.push({ text: qa.question, category, evidence });
  });
  return { name, memories, questions, skipped, now: last + DAY_MS };
}

/** One LongMemEval instance: its haystack sessions, and the one question asked of them. */
export function parseLongMemEvalInstance(data: unknown, name: string): EvalConversation {
  const item = object(data, name);
  const sessions = array(item.haystack_sessions, `${name}: haystack_sessions`);
  const dates = array(item.haystack_dates, `${name}: haystack_dates`);
  if (dates.length !== sessions.length) throw new EvalDataError(`${name}: haystack_dates and haystack_sessions differ in length`);
  const memories: EvalMemory[] = [];
  const evidence: number[] = [];
  let last = -Infinity;
  sessions.forEach((value, s) => {
    const createdAt = parseLongMemEvalDate(string(dates[s], `${name}: haystack_dates[${s}]`));
    last = Math.max(last, createdAt);
    array(value, `${name}: haystack_sessions[${s}]`).forEach((t, i) => {
      const turn = object(t, `${name}: haystack_sessions[${s}][${i}]`);
      if (turn.has_answer === true) evidence.push(memories.length);
      memories.push({
        text: `${string(turn.role, `${name}: turn ${s}.${i} role`)}: ${string(turn.content, `${name}: turn ${s}.${i} content`)}`,
        createdAt,
        metadata: { turn: `${s}:${i}`, session: s },
      });
    });
  });
  if (memories.length === 0) throw new EvalDataError(`${name} has no turns`);
  const question = string(item.question, `${name}: question`);
  const category = typeof item.question_type === 'string' ? item.question_type : 'all';
  // Abstention questions (no turn holds the answer) have nothing to retrieve.
  const questions = evidence.length > 0 ? [{ text: question, category, evidence }] : [];
  return { name, memories, questions, skipped: 1 - questions.length, now: last + DAY_MS };
}

/** Whatever one JSON file holds: a LoCoMo conversation, a list of them, or a list of LongMemEval instances. */
export function parseEvalFile(data: unknown, name: string): EvalConversation[] {
  const items = Array.isArray(data) ? data : [data];
  return items.map((item, i) => {
    const label = Array.isArray(data) ? `${name}[${i}]` : name;
    const fields = object(item, label);
    return 'haystack_sessions' in fields ? parseLongMemEvalInstance(item, label) : parseLoCoMo(item, label);
  });
}
