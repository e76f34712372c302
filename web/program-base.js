// What every role's program panel shares: loading through the REST API (the page's own token)
// once, then staying live from the socket's `program` event (docs/protocol.md §5: the server
// sends each role its own panel's view whenever it changes; there is no polling), folding
// refreshes, the "couldn't update" line, running an action with its button disabled, and the
// readiness control. Each role's module (program-clinician.js, program-client.js,
// program-partner.js) extends `ProgramPanel` with its own blocks and words; program.js picks one.
// Every word is in the catalogue (`program.*`, web/locales/<locale>/program.json).
//
// Caveat: a subclass's constructor runs after this one, so its own fields (set there) are not
// there yet while `ProgramPanel`'s constructor runs; nothing here calls a hook before `start()`.
// Without a socket (the page left or the session ended) the panel reads again only after an
// action of its own or a reconnection.

import { h, note, patch } from "./dom.js";
import { errorText, locale, t } from "./i18n.js";
import { restCall } from "./sdk/rest.js";

const READINESS = ["1", "2", "3", "4", "5"];

/** Codes after which this page's token cannot be used for the panel any more. */
const TOKEN_GONE = new Set(["E_TOKEN_EXPIRED", "E_TOKEN_INVALID", "E_TOKEN_MISSING"]);
/** Codes that say this panel has nothing to show for this person: it stays hidden and quiet
 * (each refusal is audited, so it must not keep asking). */
const NOT_FOR_YOU = new Set(["E_FORBIDDEN_ROLE", "E_FORBIDDEN_PROGRAM", "E_PROGRAM_NOT_FOUND"]);

/**
 * The shared part of the panel. A role's subclass provides:
 * - `heading` (getter): the panel's title;
 * - `buildRole()`: appends the role's blocks to `this.section`, keeping handles in `this.ui`;
 * - `loadRole(partner, view)`: renders the partner's view; `view` is the whole `program` event
 *   (the clinician's carries `approvals`), or `{partner}` after a REST read (fetch the rest);
 * - optionally `infoLoaded()` (the program's names and maxTrials have arrived) and
 *   `kindChanged()` (the room's kind changed), both called before any refresh they cause.
 */
export class ProgramPanel {
  constructor({ section, token, you, room, leave, live }) {
    this.section = section;
    this.token = token;
    this.role = you.role;
    this.you = you;
    this.room = room;
    this.program = room.program;
    this.leave = leave;
    /** The SDK's room (an EventTarget): `program`, `ended` and `reconnected` arrive on it. */
    this.live = live ?? null;
    this.ended = false;
    /** The last data shown, to draw again when only the room changed. */
    this.last = null;
    this.base = `/api/programs/${encodeURIComponent(room.program)}`;
    /** @type {any} */
    this.info = null; // GET /api/programs/{p}: names and maxTrials
    this.inFlight = null;
    this.again = false;
    this.stopped = false;
    this.listeners = [];
  }

  start() {
    this.section.classList.add("panel", "program");
    this.section.setAttribute("aria-labelledby", "program-title");
    this.build();
    this.refresh(); // the section is shown once there is something to show
    if (this.live) {
      this.listen("program", (e) => this.pushed(e.detail));
      // Events sent while the socket was away are lost: read once on coming back.
      this.listen("reconnected", () => this.refresh());
      this.listen("ended", () => {
        this.ended = true;
        this.redraw();
      });
    }
  }

  listen(type, handler) {
    this.live.addEventListener(type, handler);
    this.listeners.push([type, handler]);
  }

  stop() {
    this.stopped = true;
    for (const [type, handler] of this.listeners) this.live?.removeEventListener(type, handler);
    this.listeners = [];
  }

  roomChanged(room) {
    const before = this.room;
    this.room = room;
    if (before.kind !== room.kind) this.kindChanged();
    // The program's own changes arrive as `program` events; a room change only redraws what
    // depends on the room (e.g. whether the partner is in a trial session right now).
    if (before.id !== room.id || before.you?.state !== room.you?.state) this.redraw();
  }

  /** A `program` event: this role's whole view, filtered by the server. */
  pushed(view) {
    if (this.stopped || !view || view.program !== this.program || !view.partner) return;
    this.pushes = (this.pushes ?? 0) + 1;
    this.loadProblem(null);
    this.section.hidden = false;
    this.show(view);
  }

  /** Draws `view` ({partner, ...role extras}) and remembers it for `redraw`. */
  show(view) {
    this.last = view;
    return this.loadRole(view.partner, view);
  }

  redraw() {
    if (this.last && !this.stopped) this.show(this.last);
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
    const pushes = this.pushes ?? 0;
    const partner = await this.api("GET", `${this.base}/partner`);
    // A `program` event that arrived while this read was in flight is at least as new as
    // what the read returns (the server sends it after the write commits): drawing the read
    // now could put back the state from before that write, and nothing would correct it.
    if ((this.pushes ?? 0) !== pushes) return;
    if (!partner.ok) {
      this.loadProblem(partner.error);
      return;
    }
    this.loadProblem(null);
    this.section.hidden = false;
    await this.show({ program: this.program, partner: partner.data });
  }

  loadProblem(error) {
    if (error && NOT_FOR_YOU.has(error.code)) {
      this.stop();
      this.section.hidden = true;
      return;
    }
    if (error && TOKEN_GONE.has(error.code)) {
      this.stop();
      this.ui.problem.textContent = t("program.accessEnded");
    } else if (error) {
      this.ui.problem.textContent = t("program.couldNotUpdate", { reason: errorText(error.code, error.message) }).trim();
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
   * Runs an action with its button disabled; says how it went in `where`.
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
      note(where, errorText(answer.error.code, answer.error.message), "error");
    } else if (done) {
      note(where, typeof done === "function" ? done(answer.data) : done);
    }
    // Connected, the change comes back as a `program` event (before this answer, even); only
    // a page without its socket (left, ended) reads it again.
    if (!this.live?.connected) await this.refresh();
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
      h("option", { value: "" }, t("program.readiness.choose")),
      ...READINESS.map((value) => h("option", { value }, t(`program.readiness.${value}`))));
    const button = h("button", { type: "button" }, verb);
    button.addEventListener("click", () => {
      if (!select.value) {
        note(message, t("program.readiness.chooseFirst"), "error");
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

/** A time for people: "today 3:05 PM", else the short date and time (the page's locale). */
export function when(seconds) {
  if (typeof seconds !== "number") return "";
  const date = new Date(seconds * 1000);
  const today = new Date();
  const time = date.toLocaleTimeString(locale(), { hour: "numeric", minute: "2-digit" });
  if (date.toDateString() === today.toDateString()) return t("program.today", { time });
  const day = date.toLocaleDateString(locale(), { weekday: "short", day: "numeric", month: "short" });
  return t("program.dayTime", { day, time });
}
