/**
 * "28,672 trainable parameters (6.90% of the base model's 415,488)": the one way every
 * command reports an adapter's size — as a share of the base model's parameters, the
 * adapter's own not counted in the denominator.
 */
export function parameterShare(trainable: number, baseParameters: number): string {
  const share = baseParameters > 0 ? (100 * trainable) / baseParameters : 0;
  return `${trainable.toLocaleString('en-US')} trainable parameters (${share.toFixed(2)}% of the base model's ${baseParameters.toLocaleString('en-US')})`;
}
