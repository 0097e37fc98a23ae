// The adapter tests were written against tensor-core's index when the framework lived
// there; this keeps one namespace for both packages.
export * from '@t2/tensor-core';
export * from '../src/index';
