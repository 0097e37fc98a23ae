export { NonFiniteInputError, SvdConvergenceError } from './errors';
export type { MatrixLike } from './matrix';
export { type SvdOptions, type SvdResult, singularValues, svd } from './svd';
