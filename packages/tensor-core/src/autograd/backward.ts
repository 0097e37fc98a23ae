import { add } from '../ops/arithmetic';
import { ones } from '../ops/creation';
import { formatShape, shapesEqual } from '../tensor/shape';
import { keep, setBackwardImpl, type Tensor } from '../tensor/tensor';
import { noGrad } from './grad-mode';

/**
 * Reverse-mode differentiation from `root`: a topological order of the graph, then
 * one gradient rule per node, as in micrograd. Gradients of leaves that require them
 * accumulate into `.grad`; intermediate gradients are freed as soon as they are used.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward(): the tensor does not require grad (no parameter in its graph)');
  }
  if (!grad && root.size !== 1) {
    throw new Error(
      `backward(): a gradient is needed for non-scalar output ${formatShape(root.shape)}`,
    );
  }
  const order = topologicalOrder(root);
  const seed = grad ?? ones(root.shape);
  noGrad(() => {
    const pending = new Map<Tensor, Tensor>();
    // How many pending entries (plus the node being processed) hold each gradient
    // tensor: one tensor may be passed to several inputs, so it is freed only when
    // the last holder is done with it.
    const holders = new Map<Tensor, number>();
    const hold = (x: Tensor) => holders.set(x, (holders.get(x) ?? 0) + 1);
    const release = (x: Tensor) => {
      const n = (holders.get(x) ?? 0) - 1;
      if (n > 0) {
        holders.set(x, n);
        return;
      }
      holders.delete(x);
      if (x !== grad) x.dispose();
    };
    pending.set(root, seed);
    hold(seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const g = pending.get(node);
      if (!g) continue;
      pending.delete(node);
      if (!node.gradNode) {
        accumulate(node, g);
        release(g);
        continue;
      }
      const inputGrads = node.gradNode.backward(g);
      const consumed: Tensor[] = [];
      node.gradNode.inputs.forEach((input, k) => {
        const ig = inputGrads[k];
        if (!ig || !input.requiresGrad) return;
        if (!shapesEqual(ig.shape, input.shape)) {
          throw new Error(
            `backward(): rule of '${node.gradNode!.op}' gave ${formatShape(ig.shape)} for input ${formatShape(input.shape)}`,
          );
        }
        const prev = pending.get(input);
        if (prev) {
          const total = add(prev, ig);
          pending.set(input, total);
          hold(total);
          release(prev);
          consumed.push(ig);
        } else {
          pending.set(input, ig);
          hold(ig);
        }
      });
      for (const ig of consumed) if (!holders.has(ig) && ig !== g && ig !== grad) ig.dispose();
      release(g);
    }
  });
}

function accumulate(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    leaf.grad = keep(sum);
  } else {
    // A view of the root's seed or of a shared gradient must not be disposed under us.
    leaf.grad = keep(g.detach());
  }
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: a deep network's graph would overflow the call stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.gradNode?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

setBackwardImpl(backward);
