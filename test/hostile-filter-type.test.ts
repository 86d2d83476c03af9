// The `Filter` type, checked at compile time: the assertions below are types (expectTypeOf, and
// directives that expect an error), and the last test runs the TypeScript compiler over this file with
// the project's strict settings, so a type that let a wrong operator through (an unused directive) fails it.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { FieldOperators, Filter } from '../src/metadata/filter.js';

const accepted: Filter[] = [
  { kind: 'fact' },
  { kind: 'fact', year: { $gte: 2020, $lt: 2030 }, tags: { $in: ['work', 'travel'] } },
  { $or: [{ 'user.id': 'u1' }, { shared: true }], $not: { archived: true } },
  { $and: [{ a: null }, { b: { $exists: false } }, { c: { $nin: [1, 'x', null] } }] },
  { year: { $not: { $gt: 5 } }, name: { $ne: 'x', $eq: 'y' } },
];

describe('Filter (types)', () => {
  it('accepts the README\'s filters', () => {
    expectTypeOf(accepted).toEqualTypeOf<Filter[]>();
    expectTypeOf({ year: { $gte: 2020 } }).toExtend<Filter>();
    expectTypeOf({ $or: [{ kind: 'fact' }] }).toExtend<Filter>();
    expectTypeOf<FieldOperators['$in']>().toEqualTypeOf<readonly (string | number | boolean | null)[] | undefined>();
  });

  it('refuses unknown operators and wrong operands', () => {
    // @ts-expect-error: no $regex operator
    const regex: Filter = { name: { $regex: 'x' } };
    // @ts-expect-error: a top-level `$` key is a combinator, never a field
    const xor: Filter = { $where: 'this.a > 1' };
    // @ts-expect-error: $in takes an array
    const notArray: Filter = { tags: { $in: 'a' } };
    // @ts-expect-error: $gt takes a number or a string
    const boolBound: Filter = { year: { $gt: true } };
    // @ts-expect-error: $exists takes a boolean
    const exists: Filter = { year: { $exists: 'yes' } };
    // @ts-expect-error: $and takes an array of filters
    const andObject: Filter = { $and: { a: 1 } };
    // @ts-expect-error: a field-level $not takes operators
    const notScalar: Filter = { year: { $not: 5 } };
    expect([regex, xor, notArray, boolBound, exists, andObject, notScalar]).toHaveLength(7);
  });

  it('this file type-checks under the project\'s settings (every @ts-expect-error above is needed)', () => {
    const file = fileURLToPath(import.meta.url);
    const config = ts.getParsedCommandLineOfConfigFile(fileURLToPath(new URL('../tsconfig.json', import.meta.url)), {}, {
      ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
    })!;
    const program = ts.createProgram([file], { ...config.options, noEmit: true, rootDir: undefined, noUnusedLocals: false });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}:${d.start ?? ''} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(diagnostics).toEqual([]);
  });
});
