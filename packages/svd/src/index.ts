export { NonFiniteInputError, SvdConvergenceError } from './errors';
export { reconstruct, type TopSplit, topSplit } from './factors';
export { type SvdJob, type SvdManyOptions, svdEach, svdMany } from './many';
export type { MatrixLike } from './matrix';
export { type RandomizedSvdOptions, randomizedSvd } from './randomized';
export { type SvdOptions, type SvdResult, singularValues, svd } from './svd';
