import { expertDomains, heldOutFamilies, mixableFamilies } from '@t2/tasks';

/** The expert domains: experts are trained and routed on them. */
export const DOMAINS = expertDomains.map((f) => f.name);
/**
 * Held-out families a mixture can serve (scored for the experts and few-shot); the others
 * (count, sort) are skills the base lacks, scored for the base row only to keep the run short.
 */
export const MIXABLE = mixableFamilies.map((f) => f.name);
/** Every held-out family, the mixable ones first (the report's column order). */
export const HELD_OUT = [...MIXABLE, ...heldOutFamilies.map((f) => f.name).filter((f) => !MIXABLE.includes(f))];
export const FAMILIES = [...DOMAINS, ...HELD_OUT];
