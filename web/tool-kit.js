// Pieces tool panels share (docs/plugins.md, "Panels"): countdowns the launcher keeps current,
// the clinician-only box, a length chooser, and the page's message catalogue (`t`, docs/i18n.md).
// A panel may import this module, and /static/dom.js, by those absolute paths; both are part of
// the panel API. Its own words are under `tools.<name>.*` (the panel api's `t` adds the prefix).

import { h, uid } from "/static/dom.js";
import { t } from "/static/i18n.js";

export { field, h, patch, uid } from "/static/dom.js";
export { has, locale, t } from "/static/i18n.js";

const MINUTES = [1, 2, 3, 5, 10, 15, 20];

/**
 * A countdown to the server's `deadline` (seconds since the epoch), bounded by `total` seconds
 * so a clock that is off cannot show more than that. The launcher keeps every
 * `[data-deadline]` node of the tools section current, once a second. `suffix` follows the
 * time ("4:00 left"), or places it where it says `{time}` ("Quedan {time}"), as a language needs.
 */
export function timer(deadline, total, suffix, doneText) {
  const node = h("span", { role: "timer", "data-deadline": String(deadline ?? 0), "data-total": String(total ?? 0), "data-suffix": suffix, "data-done": doneText });
  node.textContent = countdown(node);
  return node;
}

/** The text a countdown node shows now. @param {HTMLElement} node */
export function countdown(node) {
  const deadline = Number(node.dataset.deadline);
  const total = Number(node.dataset.total) || Infinity;
  const left = Math.min(total, Math.max(0, deadline - Date.now() / 1000));
  if (!deadline || left <= 0) return node.dataset.done ?? t("tools.kit.time-up");
  const whole = Math.ceil(left);
  const m = Math.floor(whole / 60);
  const time = `${m}:${String(whole % 60).padStart(2, "0")}`;
  const suffix = node.dataset.suffix ?? t("tools.kit.left");
  return suffix.includes("{time}") ? suffix.replace("{time}", time) : `${time} ${suffix}`; // older panels
}

/** A box for what only the clinician sees, marked as such. */
export function onlyYou(content, title = t("tools.kit.guide")) {
  return h("aside", { className: "only-you" },
    h("p", { className: "only-you-label" }, t("tools.kit.only-you", { title })), content);
}

/** A time-out length, 1 to 20 minutes (5 chosen). */
export function minutesSelect() {
  return h("select", { id: uid("minutes"), "data-field": "minutes" },
    ...MINUTES.map((m) => h("option", { value: String(m), selected: m === 5 }, t("tools.kit.minutes", { count: m }))));
}

/**
 * A base for panels written as a class: `heading(view)` and `blocks(view)` (see `patch` in
 * /static/dom.js) are all a subclass gives; `update` and `destroy` make it what `mount` returns.
 */
export class PanelView {
  /** @param {any} api what `mount(element, api)` was given */
  constructor(api) {
    this.api = api;
  }

  get you() {
    return this.api.you;
  }

  get clinician() {
    return this.api.clinician;
  }

  update(view) {
    this.api.setTitle(this.heading(view ?? {}) || this.api.title);
    this.api.render(this.blocks(view ?? {}));
  }

  destroy() {}

  /** @param {any} view @returns {string} */
  heading(view) {
    return this.api.title;
  }

  /** @param {any} view @returns {import("/static/dom.js").Block[]} */
  blocks(view) {
    return [];
  }

  button(label, action, payload = {}, className = "") {
    return this.api.button(label, action, payload, className);
  }

  stopButton(label) {
    return this.api.stopButton(label);
  }

  act(button, action, payload = {}) {
    return this.api.act(action, payload, button);
  }

  say(text, kind = "") {
    this.api.say(text, kind);
  }

  nameOf(id) {
    return this.api.nameOf(id);
  }
}
