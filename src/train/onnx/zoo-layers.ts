import { ModelError } from '../../errors.js';
import { int, ints } from './graph.js';
import { type LayerContext, registerLayerConverter } from './layers.js';
import { onnxAxis, transposeData } from './layout.js';

/**
 * Converters for the zoo's custom transformer layers (src/train/zoo.ts), matched by class name so
 * the exporter does not import training code. Their math is restated here from the layers' `call`.
 */

const needWeight = (ctx: LayerContext, short: string) => {
  const w = ctx.weight(short);
  if (!w) throw new ModelError(`cannot export layer '${ctx.layer.name}' (${ctx.layer.getClassName()}): weight '${short}' is missing`);
  return w;
};

/** y = x - ReduceMean(x over time, keepdims): the per-clip mean of every feature dimension removed. */
function utteranceMeanNormalization(ctx: LayerContext) {
  let x = ctx.inputs[0];
  if (x.order) x = ctx.em.plain(x);
  const mean = ctx.em.one('ReduceMean', [x.name], { axes: ints([onnxAxis(x.perm, 1)]), keepdims: int(1) }, `${ctx.layer.name}_mean`);
  return [ctx.em.like(x, ctx.em.one('Sub', [x.name, mean], {}, ctx.layer.name))];
}

/** y[b, t, :] = x[b, t, :] + P[t, :] — one Add with P laid out like x. */
function positionalEmbedding(ctx: LayerContext) {
  let x = ctx.inputs[0];
  if (x.order) x = ctx.em.plain(x);
  const table = needWeight(ctx, 'table');
  const arranged = transposeData(table.data, table.shape, x.perm.slice(1).map((a) => a - 1));
  const p = ctx.em.floatConst(`${ctx.layer.name}_table`, arranged.shape, arranged.data);
  return [ctx.em.like(x, ctx.em.one('Add', [x.name, p], {}, ctx.layer.name))];
}

/**
 * q/k/v = x W + b, split into heads [b, h, T, d/h], softmax(q kᵀ / sqrt(d/h)) v, merge heads, o = · Wo + bo.
 * The 1/sqrt(d/h) scale is folded into Wq and bq (q is only used in q kᵀ).
 */
function multiHeadSelfAttention(ctx: LayerContext) {
  const em = ctx.em;
  const x = em.plain(ctx.inputs[0]);
  const [, T, d] = x.tfShape;
  const h = Number(ctx.config.numHeads);
  if (!(h > 0) || d % h !== 0) throw new ModelError(`cannot export layer '${ctx.layer.name}': width ${d} is not divisible by numHeads ${h}`);
  if (!(T > 0)) throw new ModelError(`cannot export layer '${ctx.layer.name}': the time axis must be static, got ${T}`);
  const dk = d / h;
  const base = ctx.layer.name;
  const project = (p: 'q' | 'k' | 'v' | 'o', input: string, scale = 1) => {
    const k = needWeight(ctx, `${p}_kernel`);
    const b = needWeight(ctx, `${p}_bias`);
    const kd = scale === 1 ? k.data : k.data.map((v) => v * scale);
    const bd = scale === 1 ? b.data : b.data.map((v) => v * scale);
    const mm = em.one('MatMul', [input, em.floatConst(`${base}_W${p}`, [d, d], kd)], {}, `${base}_${p}_mm`);
    return em.one('Add', [mm, em.floatConst(`${base}_b${p}`, [d], bd)], {}, `${base}_${p}`);
  };
  const headsShape = em.int64Const(`${base}_heads_shape`, [0, T, h, dk]);
  const split = (v: string, perm: number[], name: string) =>
    em.one('Transpose', [em.one('Reshape', [v, headsShape], {}, `${name}_r`)], { perm: ints(perm) }, name);
  const q = split(project('q', x.name, 1 / Math.sqrt(dk)), [0, 2, 1, 3], `${base}_qh`);
  // kᵀ directly: [b, h, d/h, T].
  const kT = split(project('k', x.name), [0, 2, 3, 1], `${base}_khT`);
  const v = split(project('v', x.name), [0, 2, 1, 3], `${base}_vh`);
  const scores = em.one('MatMul', [q, kT], {}, `${base}_scores`);
  const attn = em.one('Softmax', [scores], { axis: int(-1) }, `${base}_attn`);
  const ctxHeads = em.one('MatMul', [attn, v], {}, `${base}_ctx`);
  const merged = em.one(
    'Reshape',
    [em.one('Transpose', [ctxHeads], { perm: ints([0, 2, 1, 3]) }, `${base}_ctx_t`), em.int64Const(`${base}_merge_shape`, [0, T, d])],
    {},
    `${base}_merged`,
  );
  return [{ name: project('o', merged), tfShape: ctx.outputShapes[0], perm: [0, 1, 2] }];
}

registerLayerConverter('UtteranceMeanNormalization', utteranceMeanNormalization);
registerLayerConverter('PositionalEmbedding', positionalEmbedding);
registerLayerConverter('MultiHeadSelfAttention', multiHeadSelfAttention);
