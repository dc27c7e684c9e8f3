import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import protobuf from 'protobufjs';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { onnx } from '../src/train/onnx/onnx-codec.js';

/*
 * src/train/onnx/onnx-codec.js is static code protobufjs-cli generated from onnx-subset.json
 * (scripts/gen-onnx-codec.sh). It must read and write exactly what protobufjs' reflection over the
 * same schema does (the codec before it, which compiles its functions at run time).
 */
const same = (a: Uint8Array, b: Uint8Array, message: string) => assert.ok(Buffer.from(a).equals(Buffer.from(b)), message);

describe('the static ONNX codec (src/train/onnx/onnx-codec.js)', () => {
  const reflection = protobuf.Root.fromJSON(JSON.parse(readFileSync('src/train/onnx/onnx-subset.json', 'utf8'))).lookupType('onnx.ModelProto');
  const models = readdirSync('models').filter((f) => f.endsWith('.onnx'));

  it('writes the bytes protobufjs reflection writes, for every shipped model, read by either', () => {
    assert.ok(models.length >= 4);
    for (const f of models) {
      const bytes = new Uint8Array(readFileSync(`models/${f}`));
      const mine = onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();
      same(mine, reflection.encode(reflection.decode(bytes)).finish(), f);
      same(onnx.ModelProto.encode(reflection.decode(bytes)).finish(), mine, `${f}: reflection's message`);
      same(mine, bytes, `${f}: the file round-trips unchanged`);
    }
  });

  it('keeps values set to zero (explicit presence), as the schema says', () => {
    const m = decodeModel(new Uint8Array(readFileSync('models/small.onnx')));
    const node = m.graph.nodes.find((n) => n.op === 'Gemm')!;
    node.attrs.transB = { kind: 'int', v: 0 };
    node.attrs.alpha = { kind: 'float', v: 0 };
    const bytes = encodeModel(m);
    const plain = reflection.toObject(reflection.decode(bytes), { longs: Number }) as { graph: { node: { opType: string; attribute: { name: string; i?: number; f?: number }[] }[] } };
    const attrs = plain.graph.node.find((n) => n.opType === 'Gemm')!.attribute;
    assert.equal(attrs.find((a) => a.name === 'transB')?.i, 0);
    assert.equal(attrs.find((a) => a.name === 'alpha')?.f, 0);
    assert.deepEqual(decodeModel(bytes).graph.nodes.find((n) => n.op === 'Gemm')!.attrs.transB, { kind: 'int', v: 0 });
    same(onnx.ModelProto.encode(reflection.decode(bytes)).finish(), bytes, 'reflection reads what the codec wrote, and the codec writes it back the same');
  });

  it('refuses bytes that are not a model as reflection does', () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]);
    assert.throws(() => onnx.ModelProto.decode(garbage));
    assert.throws(() => reflection.decode(garbage));
  });
});
