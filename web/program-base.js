// What every role's program panel shares: loading through the REST API (the page's own token),
// folding refreshes, polling while the page is visible, the "couldn't update" line, running an
// action with its button disabled, and the readiness control. Each role's module
// (program-clinician.js, program-client.js, program-partner.js) extends `ProgramPanel` with
// its own blocks and words; program.js picks one.
//
// Caveat: a subclass's constructor runs after this one, so its own fields (set there) are not
// there yet while `ProgramPanel`'s constructor runs; nothing here calls a hook before `start()`.

import { h, note, patch } from "./dom.js";
import { restCall } from "./sdk/rest.js";

const POLL_MS = 5000;

const READINESS = [
  ["1", "1 · Not ready"],
  ["2", "2 · A little ready"],
  ["3", "3 · Somewhat ready"],
  ["4", "4 · Mostly ready"],
  ["5", "5 · Ready"],
];

/** Codes after which this page's token cannot be used for the panel any more. */
const TOKEN_GONE = new Set(["E_TOKEN_EXPIRED", "E_TOKEN_INVALID", "E_TOKEN_MISSING"]);
/** Codes that say this panel has nothing to show for this person: it stays hidden and quiet
 * (each refusal is audited, so it must not keep asking). */
const NOT_FOR_YOU = new Set(["E_FORBIDDEN_ROLE", "E_FORBIDDEN_PROGRAM", "E_PROGRAM_NOT_FOUND"]);

/**
 * The shared part of the panel. A role's subclass provides:
 * - `heading` (getter): the panel's title;
 * - `buildRole()`: appends the role's blocks to `this.section`, keeping handles in `this.ui`;
 * - `loadRole(partner)`: fetches whatever else the role needs and renders it;
 * - optionally `infoLoaded()` (the program's names and maxTrials have arrived) and
 *   `kindChanged()` (the room's kind changed), both called before any refresh they cause.
 */
export class ProgramPanel {
  constructor({ section, token, you, room, leave }) {
    this.section = section;
    this.token = token;
    this.role = you.role;
    this.you = you;
    this.room = room;
    this.program = room.program;
    this.leave = leave;
    this.base = `/api/programs/${encodeURIComponent(room.program)}`;
    /** @type {any} */
    this.info = null; // GET /api/programs/{p}: names and maxTrials
    this.inFlight = null;
    this.again = false;
    this.stopped = false;
    this.timer = 0;
    this.soon = 0;
  }

  start() {
    this.section.classList.add("panel", "program");
    this.section.setAttribute("aria-labelledby", "program-title");
    this.build();
    this.refresh(); // the section is shown once there is something to show
    this.timer = setInterval(() => {
      if (!document.hidden) this.refresh();
    }, POLL_MS);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  roomChanged(room) {
    const before = this.room;
    this.room = room;
    if (before.kind !== room.kind) this.kindChanged();
    if (before.id !== room.id || before.version !== room.version) {
      clearTimeout(this.soon);
      this.soon = setTimeout(() => this.refresh(), 250);
    }
  }

  /** The room's kind changed; a role whose blocks depend on it redraws them. */
  kindChanged() {}

  /** The program's names and maxTrials have arrived (`this.info`). */
  infoLoaded() {}

  // --- data ---------------------------------------------------------------------------------

  /** Fetches what this role needs and renders it; concurrent calls are folded into one. */
  async refresh() {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          await this.load();
        } while (this.again && !this.stopped);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  async load() {
    if (!this.info) {
      const info = await this.api("GET", this.base);
      if (!info.ok && NOT_FOR_YOU.has(info.error.code)) {
        this.loadProblem(info.error);
        return;
      }
      if (info.ok) {
        this.info = info.data;
        this.infoLoaded();
      }
    }
    const partner = await this.api("GET", `${this.base}/partner`);
    if (!partner.ok) {
      this.loadProblem(partner.error);
      return;
    }
    this.loadProblem(null);
    this.section.hidden = false;
    await this.loadRole(partner.data);
  }

  loadProblem(error) {
    if (error && NOT_FOR_YOU.has(error.code)) {
      this.stop();
      this.section.hidden = true;
      return;
    }
    if (error && TOKEN_GONE.has(error.code)) {
      this.stop();
      this.ui.problem.textContent =
        "This page's access has ended, so this panel can't update. Open a new link to see it again.";
    } else if (error) {
      this.ui.problem.textContent = `This panel couldn't update just now. ${error.message}`;
    } else {
      this.ui.problem.textContent = "";
    }
    this.ui.problem.hidden = !this.ui.problem.textContent;
    if (error) this.section.hidden = false;
  }

  /**
   * @returns {Promise<{ok: true, data: any} | {ok: false, error: {code: string, message: string}}>}
   */
  async api(method, path, body) {
    return restCall(this.token, method, path, body);
  }

  /**
   * Runs an action with its button disabled; says how it went in `where`; then refreshes.
   *
   * @param {HTMLButtonElement} button
   * @param {HTMLElement} where
   * @param {() => Promise<{ok: boolean, data?: any, error?: any}>} action
   * @param {string | ((data: any) => string)} [done]
   */
  async act(button, where, action, done = "") {
    button.disabled = true;
    note(where, "");
    const answer = await action();
    if (button.isConnected) button.disabled = false;
    if (!answer.ok) {
      note(where, answer.error.message, "error");
    } else if (done) {
      note(where, typeof done === "function" ? done(answer.data) : done);
    }
    await this.refresh();
    return answer;
  }

  step(step, extra = {}) {
    return this.api("POST", `${this.base}/partner/steps`, { step, ...extra });
  }

  // --- skeleton -----------------------------------------------------------------------------

  build() {
    const title = h("h2", { id: "program-title" }, this.heading);
    const problem = h("p", { className: "form-error", role: "status", hidden: true });
    this.ui = { title, problem };
    this.section.replaceChildren(title, problem);
    this.buildRole();
  }

  /** A labelled 1–5 select with a button; `onSend(value, button)`. */
  readinessControl(id, label, verb, onSend, message) {
    const select = h("select", { id },
      h("option", { value: "" }, "Choose…"),
      ...READINESS.map(([value, text]) => h("option", { value }, text)));
    const button = h("button", { type: "button" }, verb);
    button.addEventListener("click", () => {
      if (!select.value) {
        note(message, "Please choose a number from 1 to 5 first.", "error");
        select.focus();
        return;
      }
      onSend(select.value, button);
    });
    return h("div", { className: "inline-form" },
      h("div", { className: "field" }, h("label", { htmlFor: id }, label), select),
      h("div", { className: "actions" }, button));
  }
}

/**
 * Keeps `list` in step with `items` (`patch` in dom.js: only changed items are rebuilt, typing
 * and focus are kept); focus that had nowhere to stay goes to the block's heading.
 */
export function reconcile(list, items, keyOf, build) {
  const heading = list.closest(".program-block")?.querySelector("h3") ?? null;
  patch(list, items.map((item) => [keyOf(item), item, () => build(item)]), heading);
}

/** A time for people: "today 3:05 PM", else the short date and time (the browser's locale). */
export function when(seconds) {
  if (typeof seconds !== "number") return "";
  const date = new Date(seconds * 1000);
  const today = new Date();
  const time = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  if (date.toDateString() === today.toDateString()) return `today ${time}`;
  return `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}
