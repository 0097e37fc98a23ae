import { record } from '../autograd/record';
import type { BinaryOp, UnaryOp } from '../kernels/backend';
import { getBackend } from '../kernels/registry';
import { broadcastShapes } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { sumToShape } from './broadcast';
import { scalar, type TensorLike, toTensor } from './creation';

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const outShape = broadcastShapes(a.shape, b.shape, op);
  const be = getBackend();
  return new Tensor(
    be.binary(op, a.kernelData(be), a.shape, b.kernelData(be), b.shape, outShape),
    outShape,
  );
}

function unaryRaw(op: UnaryOp, a: Tensor): Tensor {
  const be = getBackend();
  return new Tensor(be.unary(op, a.kernelData(be)), a.shape);
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  return record(binaryRaw('add', x, y), 'add', [x, y], (g) => [
    sumToShape(g, x.shape),
    sumToShape(g, y.shape),
  ]);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  return record(binaryRaw('sub', x, y), 'sub', [x, y], (g) => [
    sumToShape(g, x.shape),
    y.requiresGrad ? sumToShape(neg(g), y.shape) : null,
  ]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  return record(binaryRaw('mul', x, y), 'mul', [x, y], (g) => [
    x.requiresGrad ? sumToShape(mul(g, y), x.shape) : null,
    y.requiresGrad ? sumToShape(mul(g, x), y.shape) : null,
  ]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  return record(binaryRaw('div', x, y), 'div', [x, y], (g) => [
    x.requiresGrad ? sumToShape(div(g, y), x.shape) : null,
    y.requiresGrad ? sumToShape(neg(div(mul(g, x), mul(y, y))), y.shape) : null,
  ]);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  const out = binaryRaw('pow', x, y);
  return record(out, 'pow', [x, y], (g) => [
    x.requiresGrad ? sumToShape(mul(g, mul(y, pow(x, sub(y, 1)))), x.shape) : null,
    y.requiresGrad ? sumToShape(mul(g, mul(out, log(x))), y.shape) : null,
  ]);
}

/** Elementwise maximum; where equal, the gradient goes to `a`. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [toTensor(a), toTensor(b)];
  return record(binaryRaw('maximum', x, y), 'maximum', [x, y], (g) => {
    const takeA = binaryRaw('less', y, x);
    const tie = binaryRaw('equal', x, y);
    const maskA = add(takeA, tie);
    return [
      x.requiresGrad ? sumToShape(mul(g, maskA), x.shape) : null,
      y.requiresGrad ? sumToShape(mul(g, sub(1, maskA)), y.shape) : null,
    ];
  });
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return neg(maximum(neg(toTensor(a)), neg(toTensor(b))));
}

/** 1 where a > b, else 0 (not differentiable). */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return binaryRaw('greater', toTensor(a), toTensor(b));
}

export function less(a: TensorLike, b: TensorLike): Tensor {
  return binaryRaw('less', toTensor(a), toTensor(b));
}

export function equal(a: TensorLike, b: TensorLike): Tensor {
  return binaryRaw('equal', toTensor(a), toTensor(b));
}

export function neg(a: Tensor): Tensor {
  return record(unaryRaw('neg', a), 'neg', [a], (g) => [neg(g)]);
}

export function exp(a: Tensor): Tensor {
  const out = unaryRaw('exp', a);
  return record(out, 'exp', [a], (g) => [mul(g, out)]);
}

export function log(a: Tensor): Tensor {
  return record(unaryRaw('log', a), 'log', [a], (g) => [div(g, a)]);
}

export function sqrt(a: Tensor): Tensor {
  const out = unaryRaw('sqrt', a);
  return record(out, 'sqrt', [a], (g) => [div(mul(g, 0.5), out)]);
}

export function rsqrt(a: Tensor): Tensor {
  const out = unaryRaw('rsqrt', a);
  return record(out, 'rsqrt', [a], (g) => [mul(g, mul(-0.5, mul(out, mul(out, out))))]);
}

export function abs(a: Tensor): Tensor {
  return record(unaryRaw('abs', a), 'abs', [a], (g) => [mul(g, unaryRaw('sign', a))]);
}

export function square(a: Tensor): Tensor {
  return record(unaryRaw('square', a), 'square', [a], (g) => [mul(g, mul(a, 2))]);
}

export function reciprocal(a: Tensor): Tensor {
  const out = unaryRaw('reciprocal', a);
  return record(out, 'reciprocal', [a], (g) => [neg(mul(g, mul(out, out)))]);
}

export function sign(a: Tensor): Tensor {
  return unaryRaw('sign', a);
}

/** Clamps to [lo, hi]; the gradient passes only strictly inside the interval. */
export function clamp(
  a: Tensor,
  lo = Number.NEGATIVE_INFINITY,
  hi = Number.POSITIVE_INFINITY,
): Tensor {
  if (lo > hi) throw new Error(`clamp: lo ${lo} is above hi ${hi}`);
  const be = getBackend();
  const out = new Tensor(be.clamp(a.kernelData(be), lo, hi), a.shape);
  return record(out, 'clamp', [a], (g) => {
    const inside = mul(binaryRaw('greater', a, scalar(lo)), binaryRaw('less', a, scalar(hi)));
    return [mul(g, inside)];
  });
}

export function sigmoid(a: Tensor): Tensor {
  const out = unaryRaw('sigmoid', a);
  return record(out, 'sigmoid', [a], (g) => [mul(g, mul(out, sub(1, out)))]);
}

export function silu(a: Tensor): Tensor {
  return record(unaryRaw('silu', a), 'silu', [a], (g) => [mul(g, unaryRaw('siluGrad', a))]);
}

/** GELU, tanh approximation. */
export function gelu(a: Tensor): Tensor {
  return record(unaryRaw('gelu', a), 'gelu', [a], (g) => [mul(g, unaryRaw('geluGrad', a))]);
}

export function tanh(a: Tensor): Tensor {
  const out = unaryRaw('tanh', a);
  return record(out, 'tanh', [a], (g) => [mul(g, sub(1, mul(out, out)))]);
}

export function relu(a: Tensor): Tensor {
  return record(unaryRaw('relu', a), 'relu', [a], (g) => [mul(g, unaryRaw('step', a))]);
}
