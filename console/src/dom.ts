import { bind } from "./i18n";

type Attrs = Record<string, string | boolean | number | EventListener | undefined>;
type Child = Node | string | null | undefined | false;

/** A tiny element builder: ``h("button", {type: "button", onclick}, "text")``. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {},
  ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false)
    node.append(c);
  return node;
}

/** A translated element: its text follows the UI language. */
export function tr<K extends keyof HTMLElementTagNameMap>(tag: K, key: string,
  attrs: Attrs = {}, args: Record<string, string | number> = {}): HTMLElementTagNameMap[K] {
  return bind(h(tag, attrs), key, args);
}
