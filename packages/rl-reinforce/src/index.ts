// The public API of @t2/rl-reinforce lands with its issue; until then it exports nothing.
export {};
