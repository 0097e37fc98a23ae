// The public API of @t2/llama lands with its issue; until then it exports nothing.
export {};
