/** Backends the op suite runs on (T2_TEST_BACKENDS=js,webasm overrides). */
export function testBackends(): string[] {
  const env = process.env.T2_TEST_BACKENDS;
  return env ? env.split(',') : ['js'];
}
