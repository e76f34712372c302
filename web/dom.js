// Building page elements without innerHTML (the CSP forbids inline script; text stays text).

/**
 * A small element builder: properties (className, id, htmlFor, hidden, ...) are set as
 * properties; names with a dash (aria-*, data-*), `role` and `scope` as attributes. Empty,
 * null, undefined and false children are skipped, so `cond && h(...)` reads naturally.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.includes("-") || name === "role" || name === "scope") node.setAttribute(name, String(value));
    else node[name] = value;
  }
  for (const child of children) {
    if (child === "" || child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}
