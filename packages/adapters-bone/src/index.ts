// The public API of @t2/adapters-bone lands with its issue; until then it exports nothing.
export {};
