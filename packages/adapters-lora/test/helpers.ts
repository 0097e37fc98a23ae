export {
  expectClose,
  OneLinear,
  sharedDir,
  snapshot,
  ToyModel,
} from '../../../test-support/adapter-tests';
