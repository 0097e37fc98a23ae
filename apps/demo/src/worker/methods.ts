// The train view's choices, read from the @t2/tuners registry: the adapter packages
// register themselves on import, so a method registered by a package imported here shows
// up in the page without any edit of the demo.
import '@t2/adapters-bone';
import '@t2/adapters-lora';
import { svfMethod } from '@t2/adapters-svf';
import { type AdapterMethod, adapterMethods } from '@t2/tuners';
import type { TrainMethodInfo } from '../protocol';

/** SVF's choice: the demo trains its singular-value mask by REINFORCE and keeps an expert. */
export const SVF_REINFORCE = 'svf-reinforce';

/** Rates tuned on the bundled model; a method not named here starts at DEFAULT_LR. */
const LR_HINTS: Readonly<Record<string, number>> = { pissa: 5e-3, [SVF_REINFORCE]: 2e-3 };
const DEFAULT_LR = 1e-2;

/** One choice per name of a method with PEFT files: the method's own and each variant's. */
function peftChoices(m: AdapterMethod<unknown>): TrainMethodInfo[] {
  return [m.name, ...(m.variants ?? [])].map((name) => ({
    name,
    label: name === m.name ? m.label : (m.variantLabels?.[name] ?? `${m.label} (${name})`),
    summary: m.summary,
    trainer: 'sft',
    usesRank: true,
    defaultLr: LR_HINTS[name] ?? DEFAULT_LR,
  }));
}

/**
 * The methods the demo can train: those with PEFT files in registration order (they learn
 * from the answers and download as PEFT folders), then SVF, which has no PEFT files and
 * learns by REINFORCE. Sorting by trainer keeps the page's first choice a PEFT method
 * whichever module happened to import @t2/adapters-svf first. A method with neither
 * has no way out of the worker, so it is not offered.
 */
export function trainMethods(): TrainMethodInfo[] {
  const list = adapterMethods().flatMap((m): TrainMethodInfo[] => {
    if (m.files) return peftChoices(m);
    if (m !== (svfMethod as AdapterMethod<unknown>)) return [];
    return [
      {
        name: SVF_REINFORCE,
        label: `${m.label} (REINFORCE)`,
        summary: m.summary,
        trainer: 'reinforce',
        usesRank: false,
        defaultLr: LR_HINTS[SVF_REINFORCE] ?? DEFAULT_LR,
      },
    ];
  });
  return [...list.filter((m) => m.trainer === 'sft'), ...list.filter((m) => m.trainer !== 'sft')];
}

/** The choice called `name`, or undefined. */
export function trainMethod(name: string): TrainMethodInfo | undefined {
  return trainMethods().find((m) => m.name === name);
}
