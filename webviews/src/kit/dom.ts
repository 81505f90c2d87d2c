/** A small element builder: the views are plain DOM (no framework), so this keeps construction readable. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (name === 'className') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** A labelled <select>; `onChange` gets the chosen value. */
export function select(
  label: string,
  options: Array<{ value: string; label: string }>,
  value: string,
  onChange: (v: string) => void,
): HTMLLabelElement {
  const s = h('select', { 'aria-label': label });
  for (const o of options) s.append(h('option', { value: o.value, selected: o.value === value }, o.label));
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  return h('label', { className: 'field' }, h('span', {}, label), s);
}

/** A banner for errors the extension reports (runtime down, query failed), with what to do. */
export function showBanner(root: HTMLElement, message: string, hint?: string): void {
  root.querySelector('.banner')?.remove();
  root.prepend(
    h('div', { className: 'banner', role: 'alert' }, h('strong', {}, message), hint ? h('span', {}, ` ${hint}`) : null),
  );
}
