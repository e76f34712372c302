// Building and updating page elements without innerHTML (the CSP forbids inline script; text
// stays text). One module for every page script and tool panel: `h` builds, `patch` updates a
// container block by block while keeping what someone typed and where their focus was.

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

let nextId = 0;
/** A page-unique id starting with `prefix` (for label/aria references). */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled control: `<div class="field"><label for=…>label</label>control</div>`. */
export function field(label, control) {
  if (!control.id) control.id = uid("field");
  return h("div", { className: "field" }, h("label", { htmlFor: control.id }, label), control);
}

/** Shows a short message (or hides it when empty); `kind` "error" styles it as a problem. */
export function note(where, text, kind = "") {
  if (!where) return;
  where.textContent = text;
  where.hidden = !text;
  where.classList.toggle("is-error", kind === "error");
}

/** Moves focus to a heading (made focusable by script only). */
export function focusHeading(heading) {
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
}

/** If focus is inside `leaving`, which is about to change, move it to `fallback`. */
export function keepFocus(leaving, fallback) {
  if (leaving.contains(document.activeElement)) focusHeading(fallback);
}

/** Rebuilds `container` only when `data` differs from what it shows now. */
export function replaceIfChanged(container, data, build) {
  const sig = JSON.stringify(data);
  if (container.dataset.sig === sig) return;
  container.dataset.sig = sig;
  container.replaceChildren(...build());
}

/** @typedef {[string, any, () => HTMLElement] | null | false | undefined | 0 | ""} Block */

/**
 * Makes `container`'s children the given blocks, rebuilding only the blocks whose data changed,
 * and carrying over what someone typed (`data-field`) and where their focus was
 * (`data-control` / `data-field`, else the same position).
 *
 * @param {HTMLElement} container
 * @param {Block[]} blocks `[key, data, build]`; falsy entries are skipped
 * @param {HTMLElement | null} fallback focused when the focused block goes away
 */
export function patch(container, blocks, fallback) {
  const existing = new Map([...container.children].map((node) => [node.dataset.key, node]));
  const keep = [];
  for (const block of blocks) {
    if (!block) continue;
    const [key, data, build] = block;
    const sig = JSON.stringify(data ?? null);
    let node = existing.get(key);
    if (!node || node.dataset.sig !== sig) {
      const fresh = build();
      fresh.dataset.key = key;
      fresh.dataset.sig = sig;
      if (node) {
        carry(node, fresh);
        const focused = node.contains(document.activeElement) ? document.activeElement : null;
        node.replaceWith(fresh);
        if (focused) refocus(node, fresh, focused, fallback);
      }
      node = fresh;
    }
    keep.push(node);
  }
  for (const node of existing.values()) {
    if (keep.includes(node)) continue;
    if (node.contains(document.activeElement)) focusHeading(fallback);
    node.remove();
  }
  keep.forEach((node, i) => {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] ?? null);
  });
}

/** What someone typed or chose in `from`, put into the same fields of its rebuilt twin `to`. */
function carry(from, to) {
  for (const input of from.querySelectorAll("[data-field]")) {
    const twin = to.querySelector(`[data-field="${CSS.escape(input.dataset.field)}"]`);
    if (!twin) continue;
    if (input.type === "radio" || input.type === "checkbox") {
      twin.checked = input.checked;
    } else if ("value" in input && twin.value !== input.value) {
      twin.value = input.value;
      // A hint that follows a choice (an exercise's intro, a scenario's summary) follows too.
      if (twin.tagName === "SELECT") twin.dispatchEvent(new Event("change"));
    }
  }
}

function refocus(oldRoot, newRoot, focused, fallback) {
  let twin = null;
  const control = focused.dataset?.control;
  const fieldName = focused.dataset?.field;
  if (control) twin = newRoot.querySelector(`[data-control="${CSS.escape(control)}"]`);
  else if (fieldName) twin = newRoot.querySelector(`[data-field="${CSS.escape(fieldName)}"]`);
  if (!twin) {
    let n = newRoot;
    for (const i of pathOf(oldRoot, focused)) n = n?.children[i];
    twin = n;
  }
  if (twin && typeof twin.focus === "function" && !twin.disabled && twin.matches("button, input, select, textarea, summary, a[href], [tabindex]")) {
    twin.focus();
  } else {
    focusHeading(fallback);
  }
}

/** Where `node` sits under `root`, as child indexes, to find its twin in a rebuilt block. */
function pathOf(root, node) {
  const path = [];
  for (let n = node; n && n !== root; n = n.parentElement) {
    path.unshift([...n.parentElement.children].indexOf(n));
  }
  return path;
}
