import { createGpuJsBackend, registerBackend } from '@t2/tensor-core';

/**
 * The backends the page computes with. tensor-core keeps GL intermediates on the GPU as
 * textures, and its rowMax/rowSumExp kernels are shared by softmax (given arrays) and
 * attention (given textures); a gpu.js WebGL kernel compiled for one crashes when handed
 * the other. Until that is fixed the page's GL backends read intermediates back; the
 * kernels view also tests tensor-core's defaults (variant 'defaults').
 */
export function installPageBackends(): void {
  for (const mode of ['webgl2', 'webgl'] as const) {
    registerBackend(mode, () => createGpuJsBackend(mode, { pipelineIntermediates: false }));
  }
}
