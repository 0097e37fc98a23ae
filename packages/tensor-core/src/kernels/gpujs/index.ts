// gpu.js backends register themselves here.
export {};
