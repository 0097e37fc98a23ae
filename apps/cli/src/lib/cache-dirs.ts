/** Where SVD factors are kept between runs (relative to the working directory; git-ignored). */
export const DEFAULT_SVD_CACHE = '.t2-cache/svd';
