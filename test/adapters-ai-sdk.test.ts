// ov-memory/ai-sdk driven by the AI SDK itself: generateText with the SDK's mock language model
// (ai/test), scripted to call the tools; what the model receives back is read from the prompts the
// SDK sends it. Scoping is checked with two users' tool sets over one store.
import { generateText, stepCountIs, streamText, type ModelMessage, type ToolSet } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { memoryTools } from '../dist/adapters/ai-sdk.js';
import { storeTracker } from './helpers/stores.js';

const { track } = storeTracker();
const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };

type Call = { tool: string; input: unknown } | { text: string };

/** A model that makes the scripted calls, one step each, and keeps every prompt it was sent. */
function scriptedModel(script: Call[]) {
  const prompts: ModelMessage[][] = [];
  const model = new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      prompts.push(prompt as ModelMessage[]);
      const step = script[prompts.length - 1] ?? { text: 'done' };
      if ('text' in step) return { content: [{ type: 'text', text: step.text }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      return {
        content: [{ type: 'tool-call', toolCallId: `call-${prompts.length}`, toolName: step.tool, input: JSON.stringify(step.input) }],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
  return { model, prompts };
}

/** The tool outputs the model was sent in its last prompt. */
function lastToolOutputs(prompts: ModelMessage[][]) {
  return prompts.at(-1)!.filter((m) => m.role === 'tool').flatMap((m) => m.content as { type: string; output: { type: string; value: unknown } }[]).map((p) => p.output);
}

async function storeWithEmbedder() {
  return track(OVMemory.create({ embedder: hashingEmbedder({ dim: 128 }), threads: 0, logLevel: 'silent' }));
}

async function run(tools: ToolSet, script: Call[]) {
  const { model, prompts } = scriptedModel(script);
  const result = await generateText({ model, tools, prompt: 'Remember things for me.', stopWhen: stepCountIs(script.length + 1) });
  return { result, prompts };
}

describe('memoryTools with generateText', () => {
  it('remember then recall: the tool results the model reads hold the remembered text', async () => {
    const memory = await storeWithEmbedder();
    const tools = memoryTools(memory, { scope: { user: 'alice' } });
    const { result, prompts } = await run(tools, [
      { tool: 'remember', input: { text: 'My cat is called Tom', tags: ['pets'] } },
      { tool: 'recall', input: { query: 'what is my cat called' } },
      { text: 'Your cat is called Tom.' },
    ]);
    expect(result.text).toBe('Your cat is called Tom.');
    const [remembered, recalled] = result.steps.slice(0, 2).map((s) => s.toolResults[0]!.output as Record<string, unknown>);
    expect(remembered).toEqual({ id: 0, text: 'My cat is called Tom' });
    expect(recalled).toEqual({ memories: [{ id: 0, text: 'My cat is called Tom', score: expect.any(Number), tags: ['pets'] }] });
    // The model was sent the recall's result in its next prompt.
    expect(lastToolOutputs(prompts).at(-1)).toEqual({ type: 'json', value: recalled });
    expect(memory.get(0)).toMatchObject({ text: 'My cat is called Tom', metadata: { tags: ['pets'] } });
  });

  it('bad tool arguments give a tool error the model reads, not an exception', async () => {
    const memory = await storeWithEmbedder();
    const tools = memoryTools(memory, { scope: { user: 'alice' }, maxResults: 3 });
    const { result, prompts } = await run(tools, [
      { tool: 'remember', input: { text: 5 } },
      { tool: 'recall', input: { query: 'x', limit: 50 } },
      { tool: 'forget', input: { ids: [] } },
      { text: 'sorry' },
    ]);
    expect(result.text).toBe('sorry');
    const errors = result.steps.flatMap((s) => s.content.filter((p) => p.type === 'tool-error'));
    expect(errors.map((e) => e.toolName)).toEqual(['remember', 'recall', 'forget']);
    const outputs = prompts.slice(1).map((p) => lastToolOutputs([p]).at(-1)!);
    expect(outputs.map((o) => o.type)).toEqual(['error-text', 'error-text', 'error-text']);
    expect(String(outputs[0]!.value)).toMatch(/Invalid input for tool remember.*expected string/s);
    expect(String(outputs[1]!.value)).toMatch(/Invalid input for tool recall/);
    expect(memory.size).toBe(0);
  });

  it("an error of the store is a tool error too, with the store's message", async () => {
    const memory = await track(OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' })); // no embedder
    const { result, prompts } = await run(memoryTools(memory, { scope: {} }), [{ tool: 'remember', input: { text: 'no embedder here' } }, { text: 'ok' }]);
    expect(result.steps[0]!.content.find((p) => p.type === 'tool-error')).toBeDefined();
    expect(lastToolOutputs(prompts)[0]).toMatchObject({ type: 'error-text', value: expect.stringMatching(/embedder/) });
  });

  it('forget removes by id; build_context assembles the relevant memories', async () => {
    const memory = await storeWithEmbedder();
    const tools = memoryTools(memory, { scope: { user: 'alice' }, buildContext: true });
    expect(Object.keys(tools).sort()).toEqual(['build_context', 'forget', 'recall', 'remember']);
    const { result } = await run(tools, [
      { tool: 'remember', input: { text: 'Alice is allergic to peanuts' } },
      { tool: 'remember', input: { text: 'Alice moved to Porto in May' } },
      { tool: 'forget', input: { ids: [1] } },
      { tool: 'build_context', input: { query: 'allergic to peanuts', maxTokens: 200 } },
      { text: 'ok' },
    ]);
    expect(result.steps[2]!.toolResults[0]!.output).toEqual({ forgotten: 1 });
    expect(result.steps[3]!.toolResults[0]!.output).toMatchObject({ context: 'Alice is allergic to peanuts', ids: [0] });
    expect(memory.size).toBe(1);
  });

  it('without buildContext there is no build_context tool', async () => {
    expect(Object.keys(memoryTools(await storeWithEmbedder(), { scope: {} })).sort()).toEqual(['forget', 'recall', 'remember']);
  });

  it('the tools work under streamText as well', async () => {
    const memory = await storeWithEmbedder();
    let call = 0;
    const model = new MockLanguageModelV3({
      doStream: async () => {
        call += 1;
        const chunks = call === 1
          ? [{ type: 'tool-call' as const, toolCallId: 'c1', toolName: 'remember', input: JSON.stringify({ text: 'streamed memory' }) },
            { type: 'finish' as const, finishReason: { unified: 'tool-calls' as const, raw: undefined }, usage }]
          : [{ type: 'text-start' as const, id: 't' }, { type: 'text-delta' as const, id: 't', delta: 'ok' }, { type: 'text-end' as const, id: 't' },
            { type: 'finish' as const, finishReason: { unified: 'stop' as const, raw: undefined }, usage }];
        return { stream: new ReadableStream({ start(c) { chunks.forEach((x) => c.enqueue(x)); c.close(); } }) };
      },
    });
    const result = streamText({ model, tools: memoryTools(memory, { scope: { user: 'alice' } }), prompt: 'hi', stopWhen: stepCountIs(2) });
    expect(await result.text).toBe('ok');
    expect(memory.get(0)?.text).toBe('streamed memory');
  });
});

describe('memoryTools: scoping', () => {
  it("one user's tools cannot read, forget or build context from another's memories", async () => {
    const memory = await storeWithEmbedder();
    const alice = memoryTools(memory, { scope: { user: 'alice' }, buildContext: true });
    const bob = memoryTools(memory, { scope: { user: 'bob' }, buildContext: true });
    await run(alice, [{ tool: 'remember', input: { text: 'the safe code is 4711' } }, { text: 'ok' }]);
    const { result } = await run(bob, [
      { tool: 'recall', input: { query: 'the safe code is 4711' } },
      { tool: 'forget', input: { ids: [0] } },
      { tool: 'build_context', input: { query: 'the safe code is 4711' } },
      { text: 'nothing' },
    ]);
    expect(result.steps[0]!.toolResults[0]!.output).toEqual({ memories: [] });
    expect(result.steps[1]!.toolResults[0]!.output).toEqual({ forgotten: 0 });
    expect(result.steps[2]!.toolResults[0]!.output).toMatchObject({ context: '', ids: [] });
    expect(memory.get(0)?.text).toBe('the safe code is 4711');
    const mine = await run(alice, [{ tool: 'recall', input: { query: 'safe code' } }, { text: 'ok' }]);
    expect((mine.result.steps[0]!.toolResults[0]!.output as { memories: { text: string }[] }).memories.map((m) => m.text)).toEqual(['the safe code is 4711']);
  });

  it('remembered memories carry the scope; the model cannot choose another', async () => {
    const memory = await storeWithEmbedder();
    const tools = memoryTools(memory, { scope: { user: 'alice', agent: 'planner' } });
    await run(tools, [{ tool: 'remember', input: { text: 'a plan', scope: { user: 'bob' } } }, { text: 'ok' }]);
    expect(memory.get(0)?.scope).toEqual({ user: 'alice', agent: 'planner' });
    expect(memory.scopes()).toEqual([{ scope: { user: 'alice', agent: 'planner' }, count: 1 }]);
  });
});

describe('memoryTools: refusals', () => {
  it('a missing memory, scope or a bad option is INVALID_DATA naming it', async () => {
    const memory = await storeWithEmbedder();
    const refused = (make: () => unknown, message: RegExp) => {
      expect(make).toThrow(message);
      expect(make).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    };
    refused(() => memoryTools({} as never, { scope: {} }), /`memory`/);
    refused(() => memoryTools(memory, undefined as never), /`options`/);
    refused(() => memoryTools(memory, {} as never), /`options.scope`/);
    refused(() => memoryTools(memory, { scope: { tenant: 'x' } as never }), /`options.scope`/);
    refused(() => memoryTools(memory, { scope: { user: '' } }), /`options.scope.user` to be a non-empty string/);
    refused(() => memoryTools(memory, { scope: {}, maxResults: 0 }), /`options.maxResults`/);
    refused(() => memoryTools(memory, { scope: {}, maxTokens: 1.5 }), /`options.maxTokens`/);
    refused(() => memoryTools(memory, { scope: {}, buildContext: 'yes' as never }), /`options.buildContext`/);
  });
});
