// The public API of @t2/adapters-lora lands with its issue; until then it exports nothing.
export {};
