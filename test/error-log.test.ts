// ErrorLog: a ring of the last failures, newest first, handed out as copies.
import { describe, expect, it } from 'vitest';
import { ErrorLog, type ErrorRecord } from '../src/observability/error-log.js';

const record = (i: number): ErrorRecord => ({ at: 1_000 + i, operation: i % 2 ? 'search' : 'add', code: `C${i}`, message: `failure ${i}` });

describe('ErrorLog', () => {
  it('.recent() - newest first, up to the limit', () => {
    const log = new ErrorLog(10);
    for (let i = 0; i < 4; i++) log.push(record(i));
    expect(log.recent().map((r) => r.code)).toEqual(['C3', 'C2', 'C1', 'C0']);
    expect(log.recent(2)).toEqual([record(3), record(2)]);
    expect(log.recent(0)).toEqual([]);
  });

  it('.recent() - an empty log gives []', () => {
    expect(new ErrorLog(3).recent()).toEqual([]);
  });

  it('.push() - past capacity, the oldest are overwritten', () => {
    const log = new ErrorLog(3);
    for (let i = 0; i < 8; i++) log.push(record(i));
    expect(log.recent(100).map((r) => r.code)).toEqual(['C7', 'C6', 'C5']);
  });

  it('defaults: keeps 1,000 and returns 100', () => {
    const log = new ErrorLog();
    for (let i = 0; i < 1_005; i++) log.push(record(i));
    expect(log.capacity).toBe(1_000);
    expect(log.recent()).toHaveLength(100);
    const all = log.recent(5_000);
    expect(all).toHaveLength(1_000);
    expect(all[0]!.code).toBe('C1004');
    expect(all[999]!.code).toBe('C5');
  });

  it('hands out copies and keeps its own: neither side can rewrite the other', () => {
    const log = new ErrorLog(3);
    const mine = record(1);
    log.push(mine);
    mine.code = 'CHANGED';
    const out = log.recent();
    out[0]!.message = 'changed too';
    expect(log.recent()).toEqual([record(1)]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new ErrorLog(0)).toThrow(RangeError);
    expect(() => new ErrorLog(2.5)).toThrow(/capacity/);
  });
});
