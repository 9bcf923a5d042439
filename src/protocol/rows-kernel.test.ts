// The row-kernel kind on the wire: what a hostile client can put in a job's kernel, and what it gets back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson, ValidationError } from './validate.ts';
import { parseKernelSpec, parseRowsKernel, ROW_OPS } from './kernel.ts';

describe('rows kernel schema', () => {
  it('accepts every op with exactly its own parameters', () => {
    for (const op of ['sum', 'max', 'softmax', 'add', 'mul', 'relu'] as const) assert.deepEqual(parseKernelSpec({ kind: 'rows', op }), { kind: 'rows', op });
    assert.deepEqual(parseKernelSpec({ kind: 'rows', op: 'layernorm' }), { kind: 'rows', op: 'layernorm' });
    assert.deepEqual(parseKernelSpec({ kind: 'rows', op: 'layernorm', eps: 1e-6 }), { kind: 'rows', op: 'layernorm', eps: 1e-6 });
    assert.deepEqual(parseKernelSpec({ kind: 'rows', op: 'affine', alpha: -2.5, beta: 3 }), { kind: 'rows', op: 'affine', alpha: -2.5, beta: 3 });
    assert.equal(ROW_OPS.length, 8);
  });

  it('refuses an unknown, missing or non-string op, naming the field', () => {
    for (const op of ['gelu', '', 'SUM', 'sum ', 0, null, ['sum'], { op: 'sum' }, undefined]) {
      assert.throws(() => parseKernelSpec({ kind: 'rows', op }), (e: unknown) => e instanceof ValidationError && /op/.test(e.message), JSON.stringify(op));
    }
  });

  it("refuses a parameter that is not its op's", () => {
    const hostile = [
      { kind: 'rows', op: 'sum', eps: 1e-5 },
      { kind: 'rows', op: 'softmax', alpha: 1, beta: 0 },
      { kind: 'rows', op: 'layernorm', alpha: 1 },
      { kind: 'rows', op: 'affine', alpha: 1, beta: 0, eps: 1e-5 },
      { kind: 'rows', op: 'relu', source: 'fn main() {}' },
      { kind: 'rows', op: 'add', dispatch: [1, 1, 1] },
    ];
    for (const k of hostile) assert.throws(() => parseKernelSpec(k), ValidationError, JSON.stringify(k));
  });

  it('refuses affine without both coefficients', () => {
    assert.throws(() => parseRowsKernel({ kind: 'rows', op: 'affine', alpha: 1 }), /beta/);
    assert.throws(() => parseRowsKernel({ kind: 'rows', op: 'affine', beta: 1 }), /alpha/);
  });

  it('refuses non-finite, out-of-range and non-number parameters, including JSON 1e400', () => {
    const bad: unknown[] = [
      parseJson('{"kind":"rows","op":"affine","alpha":1e400,"beta":0}'),
      parseJson('{"kind":"rows","op":"affine","alpha":1,"beta":-1e400}'),
      { kind: 'rows', op: 'affine', alpha: NaN, beta: 0 },
      { kind: 'rows', op: 'affine', alpha: 1e39, beta: 0 },
      { kind: 'rows', op: 'affine', alpha: '1', beta: 0 },
      { kind: 'rows', op: 'layernorm', eps: -1e-5 },
      { kind: 'rows', op: 'layernorm', eps: 2 },
      { kind: 'rows', op: 'layernorm', eps: Infinity },
      { kind: 'rows', op: 'layernorm', eps: null },
    ];
    for (const k of bad) assert.throws(() => parseKernelSpec(k), ValidationError, JSON.stringify(k));
  });

  it('refuses a prototype-polluting key and a wrong kind', () => {
    assert.throws(() => parseKernelSpec(parseJson('{"kind":"rows","op":"sum","__proto__":{"polluted":true}}')), ValidationError);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.throws(() => parseRowsKernel({ kind: 'wgsl', op: 'sum' }), ValidationError);
  });
});
