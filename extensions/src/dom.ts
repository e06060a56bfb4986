/**
 * A few small helpers to build plain DOM, so views read like the markup they make.
 */

import { clampWeight } from './logic/smoothing';

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | number | null | undefined | false;

/**
 * An HTML element with attributes and children. `class` sets the class list;
 * false, null and undefined attributes and children are left out.
 *
 * @example
 * h('button', { class: 'wb-Refresh', title: 'Refresh' }, 'Refresh');
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, like `h`. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

/** Replace every child of `node` with `children`. */
export function replaceChildren(node: Element, ...children: Child[]): void {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
  append(node, children);
}

/** A table with a header row; cells are text or nodes. */
export function table(
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<Child>>,
  attrs: Attrs | null = null
): HTMLTableElement {
  return h(
    'table',
    { class: 'wb-Table', ...(attrs ?? {}) },
    h('thead', null, h('tr', null, ...headers.map(text => h('th', null, text)))),
    h('tbody', null, ...rows.map(row => h('tr', null, ...row.map(cell => h('td', null, cell)))))
  );
}

/** A two-column table of names and values. */
export function keyValueTable(
  entries: ReadonlyArray<[string, Child]>
): HTMLTableElement {
  return h(
    'table',
    { class: 'wb-Table wb-KeyValue' },
    h(
      'tbody',
      null,
      ...entries.map(([key, value]) => h('tr', null, h('th', null, key), h('td', null, value)))
    )
  );
}

/** A titled, collapsible section of a view. */
export function section(
  title: string,
  className: string,
  ...children: Child[]
): HTMLDetailsElement {
  return h(
    'details',
    { class: `wb-Section ${className}`, open: true },
    h('summary', { class: 'wb-SectionTitle' }, title),
    ...children
  );
}

/** A smoothing slider with the weight it is set to shown beside it. */
export interface SmoothingSlider {
  /** The label holding the slider and its value. */
  node: HTMLLabelElement;
  input: HTMLInputElement;
  output: HTMLOutputElement;
  /** The slider's weight, 0 to 0.99; also shows it beside the slider. */
  weight(): number;
}

/**
 * A labelled smoothing slider from 0 to 0.99, set to `weight`; `onInput` is
 * called whenever the user moves it.
 */
export function smoothingSlider(weight: number, onInput: () => void): SmoothingSlider {
  const input = h('input', {
    class: 'wb-Smoothing',
    type: 'range',
    min: 0,
    max: 0.99,
    step: 0.01,
    'aria-label': 'Smoothing'
  });
  input.value = String(clampWeight(weight));
  const output = h('output', { class: 'wb-SmoothingValue' });
  input.addEventListener('input', onInput);
  return {
    node: h('label', { class: 'wb-SmoothingLabel' }, 'Smoothing', input, output),
    input,
    output,
    weight: () => {
      const value = clampWeight(Number(input.value));
      output.textContent = value.toFixed(2);
      return value;
    }
  };
}

/** A run's status: a dot (pulsing while running) and the status word. */
export function statusBadge(status: string): HTMLSpanElement {
  const known = ['running', 'finished', 'failed', 'interrupted'].includes(status)
    ? status
    : 'unknown';
  return h(
    'span',
    { class: `wb-StatusBadge wb-mod-${known}`, 'data-status': status },
    h('span', { class: 'wb-StatusDot', 'aria-hidden': 'true' }),
    status
  );
}

function setAttributes(node: Element, attrs: Attrs | null): void {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node: Node, children: ReadonlyArray<Child>): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.appendChild(
      typeof child === 'object' ? child : document.createTextNode(String(child))
    );
  }
}
