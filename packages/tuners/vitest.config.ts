import { t2VitestConfig } from '../../vitest.shared';

export default t2VitestConfig();
