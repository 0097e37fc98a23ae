import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { formatShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight (fused). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const cols = x.shape[x.ndim - 1]!;
  if (weight.ndim !== 1 || weight.size !== cols) {
    throw new Error(
      `rmsNorm: weight ${formatShape(weight.shape)} does not match last axis of ${formatShape(x.shape)}`,
    );
  }
  const rows = x.size / cols;
  const be = getBackend();
  const out = new Tensor(
    be.rmsNorm(x.kernelData(be), weight.kernelData(be), rows, cols, eps),
    x.shape,
  );
  return record(out, 'rmsNorm', [x, weight], (g) => {
    const gb = getBackend();
    const [dx, dw] = gb.rmsNormBackward(
      g.kernelData(gb),
      x.kernelData(gb),
      weight.kernelData(gb),
      rows,
      cols,
      eps,
    );
    return [new Tensor(dx, x.shape), new Tensor(dw, weight.shape)];
  });
}
