// The public API of @t2/transformer2-runtime lands with its issue; until then it exports nothing.
export {};
