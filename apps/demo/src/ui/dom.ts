type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown> & {
  class?: string;
  style?: string;
  dataset?: Record<string, string>;
};

/** A tiny element builder: `h('button', { onclick }, 'Start')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'style') el.setAttribute('style', String(value));
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) (el as unknown as Record<string, unknown>)[key] = value;
    else if (key in el && typeof value !== 'string')
      (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(
      typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c,
    );
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A labelled form control. */
export function field(label: string, control: HTMLElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

export function select(
  options: readonly (
    | string
    | { value: string; label: string; disabled?: boolean; title?: string }
  )[],
  props: Props = {},
): HTMLSelectElement {
  return h(
    'select',
    props,
    ...options.map((o) =>
      typeof o === 'string'
        ? h('option', { value: o }, o)
        : h('option', { value: o.value, disabled: o.disabled, title: o.title }, o.label),
    ),
  );
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return x.toFixed(digits);
}
