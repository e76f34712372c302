// In-session tools on the session page (docs/plugins.md): the clinician's launcher and the
// controls of each running tool; for clients and partners, the panels of the running tools and,
// in couples sessions, a Time-out button that is always there.
//
//   import { mountTools } from "./tools.js";
//   mountTools({ room, you: answer.you, snapshot: answer.room }); // after a successful join
//
// It fills `<section data-tools>`, asks the server for `tools` each time this person is (again)
// admitted, then follows the server's `tool` events. Every view arrives already filtered for this
// person's role on the server: this page never holds anything it may not show. Nothing is stored.
// While a panel updates, what someone is typing and where their focus is are kept.

import { h } from "./dom.js";

const ORDER = ["timeout", "checkin", "exercises", "roleplay"];
const TICK_MS = 1000;
const MINUTES = [1, 2, 3, 5, 10, 15, 20];
const ROLE_WORD = { clinician: "clinician", client: "client", partner: "partner" };
/** Role-play parts, by what they do. */
const PART_WORD = { speaker: "Practising", partner: "The other side" };

/** Codes whose own message would not help the person who sees them. */
const PLAIN = {
  E_DISCONNECTED: "The connection to the session is down just now. Please try again in a moment.",
  E_TIMEOUT: "The session took too long to answer. Please try again.",
  E_TOOL_NOT_RUNNING: "That has already ended.",
  E_TOOL_RUNNING: "That is already running.",
  E_FORBIDDEN_ROLE: "That is for your clinician to do.",
  E_NOT_ADMITTED: "You need to be in the session for this.",
  E_TOOL_FAILED: "This tool stopped working; the session goes on.",
  E_TOOL_TIMEOUT: "This tool stopped working; the session goes on.",
};

/** @type {ToolsPanel | null} */
let mounted = null;

/**
 * Mounts the tools section (first call) or brings it up to date (later calls).
 *
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {{id: string, name: string, role: string}} [options.you] From the join answer.
 * @param {import("./sdk/alongside.js").Snapshot} [options.snapshot] From the join answer.
 * @returns {ToolsPanel | null}
 */
export function mountTools({ room, you, snapshot } = {}) {
  const section = document.querySelector("[data-tools]");
  if (!section || !room) return null;
  if (!mounted) mounted = new ToolsPanel(section, room);
  mounted.follow(snapshot ?? room.snapshot, you);
  return mounted;
}

class ToolsPanel {
  /**
   * @param {HTMLElement} section
   * @param {import("./sdk/alongside.js").AlongsideRoom} room
   */
  constructor(section, room) {
    this.section = section;
    this.room = room;
    /** @type {any} */
    this.snap = null;
    /** @type {any} */
    this.you = null;
    /** @type {{name: string, title: string, actions: string[], catalog?: any}[]} */
    this.available = [];
    /** @type {{name: string, title: string, status: string, view?: any, error?: string}[]} */
    this.running = [];
    this.loadedFor = "";
    this.pushes = 0;
    /** @type {Map<string, Panel>} */
    this.panels = new Map();
    /** Failed tools the clinician has read about (hidden until they fail again). */
    this.dismissed = new Set();
    this.build();

    room.addEventListener("room", (e) => this.follow(/** @type {CustomEvent} */ (e).detail));
    room.addEventListener("tool", (e) => {
      this.pushes += 1;
      this.running = /** @type {CustomEvent} */ (e).detail.tools ?? [];
      this.render();
    });
    for (const type of ["ended", "removed", "superseded", "sentback", "denied"]) {
      room.addEventListener(type, () => this.reset());
    }
    // room.js says where the page is in `body[data-phase]`: the section shows only "in".
    new MutationObserver(() => this.render()).observe(document.body, {
      attributes: true,
      attributeFilter: ["data-phase"],
    });
    setInterval(() => this.tick(), TICK_MS);
  }

  build() {
    this.section.classList.add("panel", "tools");
    this.section.setAttribute("aria-labelledby", "tools-title");
    this.ui = {
      title: h("h2", { id: "tools-title", tabIndex: -1 }),
      status: h("p", { className: "tool-note", role: "status", hidden: true }),
      timeout: h("div", { className: "timeout-call", hidden: true }),
      panels: h("div", { className: "tool-panels" }),
      // Folded away while a tool runs, so the running tools come first; open when none does.
      launcher: h("details", { className: "tool-launcher", hidden: true, open: true }),
      launcherBody: h("div", { className: "tool-launcher-body" }),
      announce: h("p", { className: "visually-hidden", role: "status" }),
    };
    const ui = this.ui;
    ui.launcher.append(h("summary", {}, h("h3", { className: "tool-launcher-title" }, "Start a tool")), ui.launcherBody);
    this.anyRunning = false;
    ui.timeoutButton = h("button", { type: "button", className: "timeout-button", "data-control": "call-timeout" }, "Time-out");
    ui.timeoutHint = h("p", { className: "hint" });
    ui.timeoutButton.addEventListener("click", () => this.callTimeout());
    ui.timeout.append(ui.timeoutButton, ui.timeoutHint);
    this.section.replaceChildren(ui.title, ui.status, ui.announce, ui.timeout, ui.panels, ui.launcher);
  }

  /** @param {any} snap @param {any} [you] */
  follow(snap, you) {
    if (!snap || typeof snap !== "object") return;
    this.snap = snap;
    this.you = snap.you ?? you ?? null;
    if (this.admitted()) {
      const key = `${this.you.id}:${this.you.epoch}`;
      if (this.loadedFor !== key) {
        this.loadedFor = key;
        this.refresh();
      }
    } else {
      this.loadedFor = "";
      this.running = [];
    }
    this.render();
  }

  reset() {
    this.loadedFor = "";
    this.running = [];
    this.available = [];
    this.snap = null;
    this.render();
  }

  admitted() {
    return Boolean(this.snap && this.snap.status === "open" && this.you?.state === "admitted");
  }

  get role() {
    return this.you?.role ?? "";
  }

  get clinician() {
    return this.role === "clinician";
  }

  get couples() {
    return this.snap?.kind === "couples";
  }

  /** Everyone this person knows of in the room (same side or away), by id. */
  people() {
    const out = new Map();
    for (const p of [...(this.snap?.participants ?? []), ...(this.snap?.away ?? [])]) {
      out.set(p.id, { id: p.id, name: p.name, role: p.role });
    }
    if (this.you) out.set(this.you.id, { id: this.you.id, name: this.you.name, role: this.you.role });
    return out;
  }

  partners() {
    return [...this.people().values()].filter((p) => p.role === "client" || p.role === "partner");
  }

  async refresh() {
    const asked = this.loadedFor;
    const answer = await this.room.request("tools", {});
    if (asked !== this.loadedFor) return; // admitted again meanwhile; a newer ask is on its way
    if (!answer.ok) {
      if (answer.error.code !== "E_NOT_ADMITTED") note(this.ui.status, problemText(answer.error));
      return;
    }
    this.available = Array.isArray(answer.available) ? answer.available : [];
    this.running = Array.isArray(answer.running) ? answer.running : [];
    note(this.ui.status, "");
    this.render();
  }

  /**
   * Sends a tool event with `button` disabled until it is answered; a refusal is said in `where`.
   *
   * @param {HTMLButtonElement | null} button
   * @param {string} event `tool:start` | `tool:act` | `tool:stop`
   * @param {object} payload
   * @param {HTMLElement} where
   */
  async send(button, event, payload, where) {
    if (button) button.disabled = true;
    note(where, "");
    const pushesBefore = this.pushes;
    const answer = await this.room.request(event, payload);
    if (button?.isConnected) button.disabled = false;
    if (!answer.ok) {
      note(where, problemText(answer.error), "error");
      if (["E_TOOL_NOT_RUNNING", "E_TOOL_RUNNING"].includes(answer.error.code)) this.refresh();
      this.render();
      return answer;
    }
    // The server's `tool` event carries the same state; the answer counts only if none came
    // meanwhile (an answer can be older than an event that overtook it).
    if (this.pushes === pushesBefore && Array.isArray(answer.tools)) this.running = answer.tools;
    this.render(); // also sets the state of buttons that stay (the Time-out button)
    return answer;
  }

  async callTimeout() {
    const timeout = this.find("timeout");
    const where = this.ui.status;
    if (timeout?.status === "running") {
      await this.send(this.ui.timeoutButton, "tool:act", { tool: "timeout", action: "call", payload: {} }, where);
    } else {
      await this.send(this.ui.timeoutButton, "tool:start", { tool: "timeout", options: {} }, where);
    }
  }

  /** @param {string} name */
  find(name) {
    return this.running.find((t) => t.name === name) ?? null;
  }

  render() {
    const show = document.body.dataset.phase === "in" && this.admitted();
    const visible = this.running.filter(
      (t) => t.status === "running" || (this.clinician && !this.dismissed.has(`${t.name}:${t.error}`)),
    );
    for (const t of this.running) {
      if (t.status !== "running") continue;
      for (const key of [...this.dismissed]) if (key.startsWith(`${t.name}:`)) this.dismissed.delete(key);
    }
    const timeoutCall = show && !this.clinician && this.couples;
    this.section.hidden = !show || (!this.clinician && !timeoutCall && visible.length === 0);
    if (!show) {
      for (const panel of this.panels.values()) panel.root.remove();
      this.panels.clear();
      return;
    }
    this.ui.title.textContent = this.clinician ? "Session tools" : "Session activities";
    this.renderTimeoutCall(timeoutCall);
    this.renderPanels(visible);
    this.renderLauncher();
    this.tick();
  }

  renderTimeoutCall(shown) {
    this.ui.timeout.hidden = !shown;
    if (!shown) return;
    const view = this.find("timeout")?.status === "running" ? this.find("timeout").view : null;
    const busy = Boolean(view && view.phase !== "ended");
    this.ui.timeoutButton.disabled = busy;
    this.ui.timeoutHint.textContent = busy
      ? "A time-out or a private check-in is going on now."
      : "Need a pause? A time-out gives each of you a few quiet minutes apart, then you come back together.";
  }

  renderPanels(visible) {
    const sorted = [...visible].sort((a, b) => rank(a.name) - rank(b.name));
    const wanted = new Set(sorted.map((t) => t.name));
    for (const [name, panel] of this.panels) {
      if (wanted.has(name)) continue;
      if (panel.root.contains(document.activeElement)) focusHeading(this.ui.title);
      panel.root.remove();
      this.panels.delete(name);
    }
    sorted.forEach((item, i) => {
      let panel = this.panels.get(item.name);
      if (!panel) {
        const Kind = PANELS[item.name] ?? GenericPanel;
        panel = new Kind(this, item.name);
        this.panels.set(item.name, panel);
      }
      if (this.ui.panels.children[i] !== panel.root) {
        this.ui.panels.insertBefore(panel.root, this.ui.panels.children[i] ?? null);
      }
      panel.update(item);
    });
  }

  renderLauncher() {
    const launcher = this.ui.launcher;
    const startable = this.clinician
      ? this.available.filter(
          (t) => t.actions.includes("start") && this.find(t.name)?.status !== "running",
        )
      : [];
    launcher.hidden = startable.length === 0;
    const anyRunning = this.running.some((t) => t.status === "running");
    if (anyRunning !== this.anyRunning) {
      this.anyRunning = anyRunning;
      if (!launcher.contains(document.activeElement)) launcher.open = !anyRunning;
    }
    if (launcher.hidden) return;
    const partners = this.partners();
    patch(this.ui.launcherBody, [
      ...startable.map((t) => [
        `start-${t.name}`,
        { t, kind: this.snap?.kind, partners },
        () => this.startRow(t, partners),
      ]),
    ], this.ui.title);
  }

  /** One tool in the launcher: what it does, the options it needs, `Start <title>`. */
  startRow(tool, partners) {
    const row = h("div", { className: "tool-start" });
    const message = h("p", { className: "tool-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary", "data-control": "start" }, `Start ${tool.title}`);
    const options = [];
    /** @type {() => object} */
    let read = () => ({});
    const about = {
      roleplay: "Rehearse a hard conversation, turn by turn. You choose the scenario next." +
        (this.couples ? " The client and the partner play the parts." : " You play the other part."),
      exercises: this.couples
        ? "A structured exercise for the two partners. Private answers are shared only when you release them."
        : "A structured exercise with the client; you take the other part.",
      checkin: "A short mood and readiness scale. Only you see the answers.",
      timeout: this.couples
        ? "Each partner goes to a quiet side room of their own, with a countdown and a calming prompt. You can visit each of them."
        : "A short quiet pause for the client, with a countdown and a calming prompt.",
    }[tool.name];

    if (tool.name === "exercises" && Array.isArray(tool.catalog) && tool.catalog.length) {
      const select = h("select", { id: uid("exercise"), "data-field": "exercise" },
        ...tool.catalog.map((e) => h("option", { value: e.id }, e.title)));
      const intro = h("p", { className: "hint" });
      const showIntro = () => {
        intro.textContent = tool.catalog.find((e) => e.id === select.value)?.intro ?? "";
      };
      select.addEventListener("change", showIntro);
      showIntro();
      options.push(field("Exercise", select), intro);
      read = () => ({ exercise: select.value });
    } else if (tool.name === "checkin") {
      const select = h("select", { id: uid("phase"), "data-field": "phase" },
        h("option", { value: "start" }, "Start of the session"),
        h("option", { value: "end" }, "End of the session"));
      options.push(field("When", select));
      read = () => ({ phase: select.value });
    } else if (tool.name === "timeout") {
      const select = minutesSelect();
      options.push(field("Length", select));
      read = () => ({ minutes: Number(select.value) });
    }
    button.addEventListener("click", () =>
      this.send(button, "tool:start", { tool: tool.name, options: read() }, message));
    const actions = h("div", { className: "actions" }, button);
    if (tool.name === "timeout" && this.couples) {
      for (const p of partners) {
        const check = h("button", { type: "button", "data-control": `check-in-${p.id}` }, `Private check-in with ${p.name}`);
        check.addEventListener("click", () =>
          this.send(check, "tool:start", { tool: "timeout", options: { checkIn: p.id } }, message));
        actions.append(check);
      }
    }
    row.append(h("h4", {}, tool.title), about ? h("p", { className: "quiet" }, about) : "", ...options, actions, message);
    return row;
  }

  /** Says `text` to screen readers only (what the panels show says it to everyone else). */
  announce(text) {
    this.ui.announce.textContent = "";
    if (text) setTimeout(() => { this.ui.announce.textContent = text; }, 50);
  }

  /** Keeps every countdown on the page current. */
  tick() {
    for (const node of this.section.querySelectorAll("[data-deadline]")) {
      const text = countdown(/** @type {HTMLElement} */ (node));
      if (node.textContent !== text) node.textContent = text;
    }
  }
}

// --- panels ---------------------------------------------------------------------------------

class Panel {
  /** @param {ToolsPanel} host @param {string} name */
  constructor(host, name) {
    this.host = host;
    this.name = name;
    const id = uid(`tool-${name}`);
    this.title = h("h3", { id, tabIndex: -1 });
    this.body = h("div", { className: "tool-body" });
    this.message = h("p", { className: "tool-note", role: "status", hidden: true });
    this.root = h("section", { className: "tool", "data-tool": name, "aria-labelledby": id },
      this.title, this.body, this.message);
    /** @type {any} */
    this.item = null;
  }

  get you() {
    return this.host.you;
  }

  get clinician() {
    return this.host.clinician;
  }

  /** @param {{name: string, title: string, status: string, view?: any, error?: string}} item */
  update(item) {
    this.item = item;
    if (item.status !== "running") {
      this.title.textContent = item.title;
      patch(this.body, this.failed(item), this.title);
      return;
    }
    this.title.textContent = this.heading(item.view ?? {}) || item.title;
    patch(this.body, this.blocks(item.view ?? {}), this.title);
  }

  /** @param {any} view @returns {string} */
  heading(view) {
    return this.item.title;
  }

  /** @param {any} view @returns {Block[]} */
  blocks(view) {
    return [];
  }

  failed(item) {
    return [["failed", { error: item.error }, () => {
      const hide = h("button", { type: "button", "data-control": "hide" }, "Hide this note");
      hide.addEventListener("click", () => {
        this.host.dismissed.add(`${item.name}:${item.error}`);
        this.host.render();
      });
      return h("div", { className: "tool-failed" },
        h("p", {}, "This tool stopped working; the session goes on."),
        h("p", { className: "quiet" }, `Error: ${item.error ?? "E_TOOL_FAILED"}. You can start it again under Start a tool.`),
        h("div", { className: "actions" }, hide));
    }]];
  }

  /**
   * A button that runs a tool action.
   *
   * @param {string} label
   * @param {string} action
   * @param {object | (() => object | null)} [payload] or a function reading it (null: do nothing)
   * @param {string} [className]
   */
  button(label, action, payload = {}, className = "") {
    const button = h("button", { type: "button", className, "data-control": action }, label);
    button.addEventListener("click", () => {
      const body = typeof payload === "function" ? payload() : payload;
      if (body) this.act(button, action, body);
    });
    return button;
  }

  act(button, action, payload = {}) {
    return this.host.send(button, "tool:act", { tool: this.name, action, payload }, this.message);
  }

  stopButton(label) {
    const button = h("button", { type: "button", className: "danger", "data-control": "stop" }, label);
    button.addEventListener("click", () =>
      this.host.send(button, "tool:stop", { tool: this.name }, this.message));
    return button;
  }

  nameOf(id) {
    if (id === this.you?.id) return "you";
    return this.host.people().get(id)?.name ?? "someone";
  }

  say(text, kind = "") {
    note(this.message, text, kind);
  }
}

/** @typedef {[string, any, () => HTMLElement] | null | false | undefined} Block */

// --- time-out -------------------------------------------------------------------------------

class TimeoutPanel extends Panel {
  constructor(host, name) {
    super(host, name);
    this.lastPhase = "";
  }

  update(item) {
    super.update(item);
    const phase = item.view?.phase ?? "";
    if (!this.clinician && phase !== this.lastPhase && ["timeout", "pause", "check-in", "away"].includes(phase)) {
      // Something changed around this person: bring it into view (it is also announced).
      this.root.scrollIntoView({ block: "start" });
      this.host.announce(phase === "away" ? item.view.message
        : phase === "check-in" ? "Your clinician is here with you, privately." : "A time-out has started.");
    } else if (!this.clinician && phase === "ended" && this.lastPhase && this.lastPhase !== "ended") {
      this.host.announce("The time-out is over. You're back together.");
    }
    this.lastPhase = phase;
  }

  heading(view) {
    if (view.phase === "check-in" || view.phase === "away") return "Private check-in";
    return "Time-out";
  }

  blocks(v) {
    return this.clinician ? this.forClinician(v) : this.forPartner(v);
  }

  forPartner(v) {
    if (v.phase === "timeout" || v.phase === "pause") {
      return [["calm", { deadline: v.deadline, seconds: v.seconds, prompt: v.prompt, side: v.sideRoom }, () =>
        h("div", { className: "calm" },
          h("p", { className: "countdown" }, timer(v.deadline, v.seconds, "left in this time-out", "The time is up; you'll be back together in a moment.")),
          h("p", { className: "calm-prompt" }, v.prompt),
          v.sideRoom
            ? h("p", { className: "quiet" }, "You're in a quiet room of your own. Your partner can't see or hear you, and you can't see or hear them, until the time-out ends.")
            : "")],
      ["where", v.clinician, () => h("p", { className: "quiet" }, v.clinician?.message ?? "")]];
    }
    if (v.phase === "check-in") {
      return [["check-in", v.message, () => h("div", { className: "calm" }, h("p", {}, v.message))]];
    }
    if (v.phase === "away") {
      return [["away", v.message, () => h("div", { className: "calm" },
        h("p", { className: "away-note" }, v.message),
        h("p", { className: "quiet" }, "Nothing is needed from you. You'll all be back together soon."))]];
    }
    return [["ended", v.message, () => h("p", {}, v.message ?? "The time-out is over.")]];
  }

  forClinician(v) {
    const names = v.names ?? {};
    const sides = v.sides ?? {};
    const mine = v.you?.side ?? "";
    const partners = this.host.partners();
    const nameOf = (id) => names[id] ?? this.nameOf(id);
    if (v.phase === "check-in") {
      const other = partners.filter((p) => p.id !== v.checkIn).map((p) => p.name);
      return [["check-in", { who: v.checkIn, other }, () => h("div", {},
        h("p", {}, `You are with ${nameOf(v.checkIn)} privately.`),
        other.length ? h("p", { className: "quiet" }, `${other.join(" and ")} sees only that you are with ${nameOf(v.checkIn)}.`) : "",
        h("div", { className: "actions" }, this.button("End check-in", "return", {}, "primary")))]];
    }
    if (v.phase === "timeout" || v.phase === "pause") {
      const away = Object.entries(sides).filter(([id, side]) => id !== this.you.id && side.startsWith("timeout-"));
      return [
        ["clock", { deadline: v.deadline, seconds: v.seconds, phase: v.phase }, () => h("div", {},
          h("p", { className: "countdown" }, timer(v.deadline, v.seconds, v.phase === "pause" ? "left in this pause" : "left in this time-out", "Time is up.")),
          h("p", { className: "quiet" }, v.phase === "pause"
            ? "A quiet pause for the client; nobody moves."
            : "Each partner is in a side room of their own."))],
        ["prompt", v.prompt, () => h("details", {}, h("summary", {}, "The calming prompt they see"), h("p", {}, v.prompt))],
        v.phase === "timeout" && ["rooms", { away, mine }, () => {
          const list = h("ul", { className: "people" });
          for (const [id, side] of away) {
            const here = side === mine;
            list.append(h("li", { className: "person" },
              h("p", { className: "person-text" }, here ? `You are with ${nameOf(id)}.` : `${nameOf(id)} is in a side room.`),
              here ? "" : h("div", { className: "actions" },
                this.button(`Go to ${nameOf(id)}'s side room`, "visit", { participant: id }))));
          }
          const back = mine ? h("div", { className: "actions" }, this.button("Back to the main room", "return")) : "";
          return h("div", {}, list, back);
        }],
        ["controls", { phase: v.phase, partners }, () => h("div", { className: "actions" },
          this.button(v.phase === "pause" ? "End pause" : "End time-out", "end", {}, "primary"),
          ...(this.host.couples ? partners.map((p) =>
            this.button(`Private check-in with ${p.name}`, "check-in", { participant: p.id })) : []))],
      ];
    }
    return [
      ["ended", null, () => h("p", { className: "quiet" }, "Everyone is in the main room.")],
      ["again", { partners, couples: this.host.couples }, () => {
        const select = minutesSelect();
        return h("div", {},
          field("Length", select),
          h("div", { className: "actions" },
            this.button("Call a time-out", "call", () => ({ minutes: Number(select.value) })),
            ...(this.host.couples ? partners.map((p) =>
              this.button(`Private check-in with ${p.name}`, "check-in", { participant: p.id })) : []),
            this.stopButton("Close the time-out tool")));
      }],
    ];
  }
}

// --- check-in -------------------------------------------------------------------------------

class CheckinPanel extends Panel {
  heading(view) {
    return view.phase === "end" ? "Check-in: end of the session" : "Check-in: start of the session";
  }

  blocks(v) {
    const labels = v.scale?.labels ?? {};
    const say = (scale, n) => `${n} · ${labels[scale]?.[String(n)] ?? ""}`;
    if (this.clinician) {
      return [
        ["state", { open: v.open }, () => h("p", { className: "quiet" }, v.open
          ? "Open. Answers are private to you; each person sees only their own."
          : "Closed. Reopen it to let people change their answers.")],
        ["answers", { answers: v.answers, waiting: v.waiting, labels }, () => {
          const list = h("ul", { className: "answer-list" });
          for (const a of Object.values(v.answers ?? {})) {
            list.append(h("li", {},
              h("strong", {}, a.name), ` (${ROLE_WORD[a.role] ?? a.role}): mood ${say("mood", a.mood)}; readiness ${say("readiness", a.readiness)}`));
          }
          for (const w of v.waiting ?? []) list.append(h("li", { className: "quiet" }, `Waiting for ${w.name}.`));
          return list;
        }],
        ["controls", { open: v.open }, () => h("div", { className: "actions" },
          v.open ? this.button("Close check-in", "close") : this.button("Reopen check-in", "reopen"),
          this.stopButton("Finish and save"))],
      ];
    }
    const questions = v.questions ?? {};
    return [
      ["privacy", v.privacy, () => h("p", { className: "quiet" }, v.privacy ?? "")],
      ["form", { open: v.open, questions, labels, mine: v.mine, answered: v.answered }, () => {
        if (!v.open) {
          return h("div", {},
            h("p", {}, "The check-in is closed. Thank you."),
            v.mine ? h("p", { className: "quiet" }, `Your answers: mood ${say("mood", v.mine.mood)}; readiness ${say("readiness", v.mine.readiness)}.`) : "");
        }
        const groups = ["mood", "readiness"].map((scale) => scaleGroup(scale, questions[scale] ?? scale, labels[scale] ?? {}, v.mine?.[scale]));
        const send = h("button", { type: "submit", className: "primary", "data-control": "answer" }, v.answered ? "Update" : "Send");
        const form = h("form", { className: "tool-form" }, ...groups.map((g) => g.node), h("div", { className: "actions" }, send),
          v.answered ? h("p", { className: "quiet" }, "Sent. You can change your answers until the check-in closes.") : "");
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          const [mood, readiness] = groups.map((g) => g.value());
          if (!mood || !readiness) {
            this.say("Choose a number for both questions.", "error");
            return;
          }
          this.act(send, "answer", { mood, readiness });
        });
        return form;
      }],
    ];
  }
}

/** A 1–5 scale as radio buttons in a fieldset whose legend is the question. */
function scaleGroup(scale, question, labels, checked) {
  const name = uid(`scale-${scale}`);
  const options = [1, 2, 3, 4, 5].map((n) => {
    const input = h("input", { type: "radio", name, value: String(n), id: `${name}-${n}`, "data-field": `${scale}:${n}`, checked: checked === n });
    return h("label", { className: "scale-option", htmlFor: `${name}-${n}` }, input, h("span", {}, `${n} · ${labels[String(n)] ?? ""}`));
  });
  const node = h("fieldset", { className: "scale" }, h("legend", {}, question), h("div", { className: "scale-options" }, ...options));
  return {
    node,
    value: () => {
      const on = node.querySelector("input:checked");
      return on ? Number(on.value) : 0;
    },
  };
}

// --- exercises ------------------------------------------------------------------------------

class ExercisesPanel extends Panel {
  heading(v) {
    return v.exercise?.title ? `Exercise: ${v.exercise.title}` : "Exercise";
  }

  blocks(v) {
    const me = this.you?.id;
    const people = v.people ?? [];
    const name = (id) => (id === me ? "You"
      : people.find((p) => p.id === id)?.name ?? this.host.people().get(id)?.name ?? "Your clinician");
    const step = v.step ?? {};
    const mode = step.mode;
    const inIt = Boolean(v.you?.inExercise);
    const them = this.clinician && !inIt;
    const blocks = [
      ["intro", v.exercise?.intro, () => h("details", { className: "tool-about" },
        h("summary", {}, "About this exercise"), h("p", {}, v.exercise?.intro ?? ""))],
    ];
    if (v.finished) {
      blocks.push(["finished", null, () => h("p", {}, this.clinician
        ? "The exercise is finished. Stop it to keep the answers in the session record."
        : "This exercise is finished. Thank you both.")]);
    } else {
      blocks.push(["step", { index: v.index, count: v.count, step, speaker: v.speaker, listener: v.listener, people }, () =>
        h("div", { className: "tool-step" },
          h("p", { className: "step-count" }, `Step ${v.index + 1} of ${v.count}`),
          h("p", { className: "prompt" }, step.prompt ?? ""),
          h("p", { className: "quiet" }, whoAnswers(step, v, name, them)),
          step.deadline ? h("p", { className: "step-timer" }, timer(step.deadline, step.timer, "left for this step", "Time's up for this step; take the time you need.")) : "")]);
      if (this.clinician && step.guide) {
        blocks.push(["guide", step.guide, () => onlyYou(h("p", {}, step.guide))]);
      }
      if (mode === "floor") blocks.push(...this.floor(v, name));
      else blocks.push(...this.answers(v, name, inIt));
    }
    if (this.clinician) blocks.push(this.controls(v));
    return blocks;
  }

  /** Private-reveal and shared steps: the answer form, who is done, the answers one may see. */
  answers(v, name, inIt) {
    const me = this.you?.id;
    const step = v.step ?? {};
    const people = v.people ?? [];
    const mine = v.answers?.[me];
    const privately = step.mode === "private-reveal";
    const released = Boolean(v.released);
    const others = people.filter((p) => p.id !== me);
    const mayAnswer = step.who === "clinician" ? this.clinician : inIt && mayAnswerStep(step, v, me);
    const out = [];

    if (step.who === "clinician") {
      // The clinician writes this one for everyone to see (e.g. the agreed boundaries).
      if (mayAnswer) {
        out.push([`form-${v.index}`, { fields: step.fields, mine }, () => this.answerForm(v, mine, false, [])]);
      }
      const written = Object.keys(v.answers ?? {}).map((id) => ({ id }));
      out.push(["shared", { answers: v.answers }, () => written.length
        ? h("div", { className: "answers" }, h("h4", {}, "Written down"), answerList(written, v.answers ?? {}, name))
        : h("p", { className: "quiet" }, this.clinician ? "Write it down here; everyone sees it." : "Your clinician will write this down here.")]);
      return out;
    }

    if (mayAnswer && !(privately && released)) {
      out.push([`form-${v.index}`, { fields: step.fields, mine }, () =>
        this.answerForm(v, mine, privately, others)]);
    }
    if (privately && !released && inIt) {
      out.push(["waiting", { done: v.done, people }, () => {
        const lines = people.filter((p) => p.id !== me).map((p) =>
          (v.done ?? []).includes(p.id) ? `${p.name} is done with this step.` : `Waiting for ${p.name}.`);
        return h("p", { className: "quiet", "data-waiting": "" }, lines.join(" "));
      }]);
    }
    if (this.clinician && !(released && inIt)) {
      out.push(["seen", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
        h("h4", {}, privately ? (released ? "Answers (shared with both)" : "Answers as they arrive") : "Answers"),
        privately && !released ? h("p", { className: "hint" }, "Only you see these until you release them, once both have answered or kept theirs private.") : "",
        answerList(people.filter((p) => p.id !== me || !inIt), v.answers ?? {}, name))]);
    }
    if (!this.clinician || inIt) {
      if (!privately || released) {
        out.push(["shared", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
          h("h4", {}, privately ? "Your answers, shared" : "Answers so far"),
          answerList(people, v.answers ?? {}, name))]);
      }
    }
    return out;
  }

  answerForm(v, mine, privately, others) {
    const step = v.step ?? {};
    const fields = Array.isArray(step.fields) ? step.fields : [];
    const inputs = [];
    const rows = [];
    if (fields.length) {
      for (const f of fields) {
        const id = uid(`answer-${f.name}`);
        const long = (f.maxLength ?? 500) > 200;
        const input = h(long ? "textarea" : "input", {
          id, name: f.name, "data-field": `answer-${f.name}`, maxLength: f.maxLength ?? 500,
          placeholder: f.placeholder ?? "", rows: long ? 2 : undefined, type: long ? undefined : "text",
          required: true,
        });
        input.value = mine?.value?.[f.name] ?? "";
        inputs.push([f.name, input]);
        rows.push(field(f.label, input));
      }
    } else {
      const id = uid("answer-text");
      const input = h("textarea", { id, "data-field": "answer-text", maxLength: 2000, rows: 3, required: true });
      input.value = mine?.value?.text ?? "";
      inputs.push(["text", input]);
      rows.push(field("Your answer", input));
    }
    const submit = h("button", { type: "submit", className: "primary", "data-control": "answer" },
      privately ? (mine && !mine.withheld ? "Update my answer" : "Submit privately") : (mine ? "Update my answer" : "Share my answer"));
    const actions = h("div", { className: "actions" }, submit);
    if (privately) {
      const keep = h("button", { type: "button", "data-control": "withhold" }, "Keep private");
      keep.addEventListener("click", () => this.act(keep, "withhold", {}));
      actions.append(keep);
    }
    const other = others.map((p) => p.name).join(" and ") || "The other person";
    const otherIsClinician = others.some((p) => this.host.people().get(p.id)?.role === "clinician");
    const privacy = !privately
      ? h("p", { className: "hint" }, "Everyone in this exercise sees your answer as soon as you share it.")
      : h("p", { className: "plain-note" }, otherIsClinician
        ? "Your clinician sees your answer when you submit it."
        : `Only you and your clinician see this for now. ${other} sees it only after you have both answered and your clinician shares the answers. You can also keep yours private.`);
    let status = "";
    if (mine?.withheld) status = h("p", { className: "quiet", "data-mine": "" }, "You chose to keep this one private. You can still answer instead, until the answers are shared.");
    else if (mine) status = h("p", { className: "quiet", "data-mine": "" }, `Your answer is in: “${answerText(mine)}” You can change it until the answers are shared.`);
    const form = h("form", { className: "tool-form" }, privacy, ...rows, actions, status);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = Object.fromEntries(inputs.map(([k, input]) => [k, input.value.trim()]));
      const empty = inputs.find(([k]) => !values[k]);
      if (empty) {
        this.say("Please fill in each part, or choose Keep private.", "error");
        empty[1].focus();
        return;
      }
      this.act(submit, "answer", fields.length ? { fields: values } : { text: values.text });
    });
    return form;
  }

  /** A speaker-listener step: who holds the floor, the paraphrase, confirm or try again. */
  floor(v, name) {
    const me = this.you?.id;
    const f = v.floor ?? {};
    const said = (f.paraphrases ?? []).filter((p) => p.round === f.round);
    const last = said[said.length - 1];
    const speaking = v.speaker === me;
    const listening = v.listener === me;
    const out = [
      ["holder", { holder: f.holder, listener: v.listener, speaking, listening, muted: f.youMuted }, () => h("div", { className: "floor" },
        h("p", { className: "floor-holder" }, speaking ? "You have the floor." : `${name(f.holder)} has the floor.`),
        h("p", { className: "quiet" }, speaking
          ? `Say what matters to you, a little at a time. ${name(v.listener)} will say back what they heard.`
          : listening
            ? `Listen, then say back what you heard, in your own words. No answers or defending yet.`
            : `${name(v.listener)} listens and says back what they heard.`),
        f.youMuted ? h("p", { className: "mute-note" }, `Your microphone is muted while ${name(f.holder)} has the floor.`) : "")],
    ];
    if (said.length) {
      out.push(["said", { said }, () => {
        const list = h("ul", { className: "answer-list" });
        for (const p of said) {
          const status = { pending: "waiting for the speaker", confirmed: "confirmed", "try-again": "the speaker asked to try again" }[p.status] ?? p.status;
          list.append(h("li", {}, h("strong", {}, `${name(p.by)}: `), `“${p.text}” (${status})`));
        }
        return h("div", { className: "answers" }, h("h4", {}, "What the listener heard"), list);
      }]);
    }
    if (listening) {
      // A fresh, empty form after each paraphrase sent (the key changes with what was said).
      out.push([`paraphrase-${f.round}-${said.length}-${last?.text ?? ""}`, null, () => {
        const id = uid("paraphrase");
        const text = h("textarea", { id, "data-field": "paraphrase", rows: 3, maxLength: 2000, required: true });
        const send = h("button", { type: "submit", className: "primary", "data-control": "paraphrase" }, "Paraphrase");
        const form = h("form", { className: "tool-form" }, field("What I heard you say", text), h("div", { className: "actions" }, send));
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          if (!text.value.trim()) return this.say("Write what you heard first.", "error");
          this.act(send, "paraphrase", { text: text.value.trim() });
        });
        return form;
      }]);
    }
    if (speaking && last?.status === "pending") {
      out.push(["confirm", { last }, () => h("div", { className: "actions" },
        this.button("Confirm", "confirm", { ok: true }, "primary"),
        this.button("Try again", "confirm", { ok: false }))]);
    }
    if ((speaking || listening) && last?.status === "confirmed") {
      out.push(["swap", { round: f.round }, () => h("div", { className: "actions" },
        this.button(`Swap: ${name(v.listener) === "You" ? "you speak" : `${name(v.listener)} speaks`} next`, "swap"))]);
    }
    return out;
  }

  controls(v) {
    const step = v.step ?? {};
    const people = v.people ?? [];
    const everyoneDone = people.every((p) => (v.done ?? []).includes(p.id));
    return ["controls", { index: v.index, count: v.count, finished: v.finished, mode: step.mode, released: v.released, everyoneDone }, () => {
      const back = this.button("Back", "back");
      back.disabled = v.index === 0 && !v.finished;
      const actions = h("div", { className: "actions" }, back);
      if (!v.finished) actions.append(this.button(v.index + 1 >= v.count ? "Finish exercise" : "Next step", "next"));
      let hint = "";
      if (!v.finished && step.mode === "private-reveal" && !v.released) {
        const release = this.button("Release answers", "release", {}, "primary");
        release.disabled = !everyoneDone;
        actions.prepend(release);
        if (!everyoneDone) hint = h("p", { className: "hint" }, "Release becomes available once both have answered or kept theirs private.");
      }
      if (!v.finished && step.mode === "floor") actions.append(this.button("Swap speaker", "swap"));
      actions.append(this.stopButton("Stop exercise"));
      return h("div", {}, actions, hint);
    }];
  }
}

function mayAnswerStep(step, v, me) {
  if (step.who === "clinician") return false; // the clinician answers from the clinician's own form
  if (step.who === "speaker" || step.who === "listener") return v[step.who] === me;
  return true;
}

function whoAnswers(step, v, name, them) {
  const speaker = name(v.speaker);
  const listener = name(v.listener);
  if (step.mode === "floor") {
    if (speaker === "You") return `You speak; ${listener} listens.`;
    if (listener === "You") return `${speaker} speaks; you listen.`;
    return `${speaker} speaks; ${listener} listens.`;
  }
  if (step.mode === "private-reveal") return them ? "Each of them answers privately." : "Each of you answers privately.";
  if (step.who === "speaker" || step.who === "listener") {
    const who = name(v[step.who]);
    return who === "You" ? "You answer this step." : `${who} answers this step.`;
  }
  if (step.who === "clinician") return them ? "You write this step down for everyone." : "Your clinician writes this step down.";
  return them ? "Each of them answers; everyone sees the answers." : "Each of you answers; everyone sees the answers.";
}

function answerText(answer) {
  if (!answer || answer.withheld) return "";
  if (typeof answer.text === "string") return answer.text;
  return Object.values(answer.value ?? {}).join(" · ");
}

function answerList(people, answers, name) {
  const list = h("ul", { className: "answer-list" });
  for (const p of people) {
    const a = answers[p.id];
    const who = name(p.id);
    const line = h("li", { "data-answer-of": p.id }, h("strong", {}, `${who}: `));
    if (!a) line.append(h("span", { className: "quiet" }, "not answered yet"));
    else if (a.withheld) line.append(h("span", { className: "quiet" }, who === "You" ? "you kept yours private" : "kept theirs private"));
    else line.append(answerText(a));
    list.append(line);
  }
  return list;
}

// --- role-play ------------------------------------------------------------------------------

class RoleplayPanel extends Panel {
  heading(v) {
    return v.scenario?.title ? `Role-play: ${v.scenario.title}` : "Role-play";
  }

  blocks(v) {
    if (v.stage === "picking" || !v.scenario) return this.picking(v);
    const turn = v.turn;
    const out = [
      ["scene", { scenario: v.scenario, parts: v.parts, you: v.you }, () => this.scene(v)],
    ];
    if (v.stage === "playing" && turn) {
      out.push(["turn", { turn, paused: v.paused, count: v.turns?.count }, () => this.turn(v)]);
    } else if (v.stage === "done") {
      out.push(["done", null, () => h("p", {}, "All the turns are done. Time to reflect.")]);
    }
    if (this.clinician && v.cues) {
      out.push(["cues", v.cues, () => this.cues(v.cues)]);
    }
    const reflecting = v.stage === "done" || Boolean(v.reflection?.mine);
    if (reflecting && (this.clinician || v.you)) {
      out.push(["reflect", { q: v.reflection?.question, mine: v.reflection?.mine }, () => this.reflect(v)]);
    }
    if (this.clinician && v.reflection?.all && Object.keys(v.reflection.all).length) {
      out.push(["reflections", v.reflection.all, () => {
        const list = h("ul", { className: "answer-list" });
        for (const r of Object.values(v.reflection.all)) list.append(h("li", {}, h("strong", {}, `${r.name}: `), r.text));
        return h("div", { className: "answers" }, h("h4", {}, "Reflections"), list);
      }]);
    }
    if (this.clinician) {
      // In a couples room the clinician plays the other side until the partner is there.
      const stand = v.parts?.partner?.participant === this.you?.id;
      const partner = this.host.couples && stand
        ? [...this.host.people().values()].find((p) => p.role === "partner") : null;
      out.push(["controls", { paused: v.paused, stage: v.stage, partner }, () => h("div", { className: "actions" },
        this.button("Redo turn", "redo"),
        this.button("Swap parts", "swap"),
        v.paused ? this.button("Resume", "resume", {}, "primary") : this.button("Pause", "pause"),
        partner ? this.button(`Give the other side to ${partner.name}`, "assign", { roles: { partner: partner.id } }) : "",
        this.stopButton("Stop role-play"))]);
    }
    return out;
  }

  picking(v) {
    if (!this.clinician) {
      return [["wait", v.message, () => h("p", { className: "quiet" }, v.message ?? "Your clinician is choosing a role-play.")]];
    }
    const library = v.library ?? [];
    return [
      ["pick", { library }, () => {
        if (!library.length) return h("p", {}, "No scenarios are available.");
        const select = h("select", { id: uid("scenario"), "data-field": "scenario" },
          ...library.map((s) => h("option", { value: s.id }, s.title)));
        const summary = h("p", { className: "hint" });
        const show = () => {
          const s = library.find((x) => x.id === select.value);
          summary.textContent = s ? `${s.summary} (${s.turns} turns; parts: ${s.parts.speaker} and ${s.parts.partner}.)` : "";
        };
        select.addEventListener("change", show);
        show();
        return h("div", {}, field("Scenario", select), summary,
          h("div", { className: "actions" }, this.button("Play this scenario", "pick", () => ({ scenario: select.value }), "primary"), this.stopButton("Stop role-play")));
      }],
      (v.skipped ?? []).length && ["skipped", v.skipped, () => h("details", {},
        h("summary", {}, `${v.skipped.length} scenario file(s) could not be used`),
        h("ul", { className: "plain-list" }, ...v.skipped.map((s) => h("li", {}, `${s.file}: ${s.error}`))))],
    ];
  }

  scene(v) {
    const parts = v.parts ?? {};
    const out = h("div", { className: "scene" }, h("p", { className: "quiet" }, v.scenario.summary ?? ""));
    // The scenario's labels ("You", "Your partner") are written for the person practising;
    // the parts are called by what they do, so they read the same for everyone.
    if (v.you === "speaker" && parts.speaker) {
      out.append(h("p", {}, h("strong", {}, "You are practising. "), parts.speaker.about));
    } else if (v.you === "partner" && parts.partner) {
      out.append(h("p", {}, h("strong", {}, `You play the other side (${parts.partner.label}). `), parts.partner.about));
    }
    const cast = h("ul", { className: "plain-list" });
    for (const key of ["speaker", "partner"]) {
      const p = parts[key];
      if (!p) continue;
      const who = p.participant === this.you?.id ? "you" : p.name;
      cast.append(h("li", {}, `${PART_WORD[key]}: ${who}`));
    }
    out.append(cast);
    if (this.clinician) {
      out.append(h("details", {}, h("summary", {}, "About the parts"),
        ...["speaker", "partner"].filter((k) => parts[k]).map((k) => h("p", {}, h("strong", {}, `${PART_WORD[k]} (${parts[k].label}): `), parts[k].about))));
    }
    return out;
  }

  turn(v) {
    const t = v.turn;
    const who = t.yours ? "Your turn" : `${t.name}'s turn (${PART_WORD[t.who]?.toLowerCase() ?? t.who})`;
    const box = h("div", { className: "tool-step" },
      h("p", { className: "step-count" }, `Turn ${t.index + 1} of ${v.turns?.count ?? "?"} · ${who}`),
      h("p", { className: "prompt" }, t.prompt));
    if (v.paused) box.append(h("p", { className: "quiet" }, "Paused by your clinician."));
    else if (t.time_up) box.append(h("p", { className: "quiet" }, "The turn's time is up; finish your thought."));
    else if (t.deadline) box.append(h("p", { className: "step-timer" }, timer(t.deadline, t.seconds, "left for this turn", "The turn's time is up; finish your thought.")));
    if (Array.isArray(t.suggested) && t.suggested.length) {
      box.append(h("p", { className: "suggested-title" }, t.yours ? "Words you could try:" : `Words ${t.name} could try:`),
        h("ul", { className: "suggested" }, ...t.suggested.map((s) => h("li", {}, s))));
    }
    if ((t.yours || this.clinician) && !v.paused) {
      box.append(h("div", { className: "actions" }, this.button("Next turn", "next", {}, t.yours ? "primary" : "")));
    }
    return box;
  }

  cues(cues) {
    const body = h("div", {});
    body.append(h("p", {}, cues.current ? cues.current : "No cue for this turn."));
    if (cues.upcoming?.length) {
      body.append(h("details", {}, h("summary", {}, "The script ahead"),
        h("ol", { className: "plain-list" }, ...cues.upcoming.map((u) =>
          h("li", {}, `${PART_WORD[u.who] ?? u.who}: ${u.prompt}`, u.cue ? h("span", { className: "cue-ahead" }, ` Cue: ${u.cue}`) : "")))));
    }
    return onlyYou(body, "Coaching cue");
  }

  reflect(v) {
    const id = uid("reflection");
    const text = h("textarea", { id, "data-field": "reflection", rows: 3, maxLength: 2000 });
    text.value = v.reflection?.mine ?? "";
    const save = h("button", { type: "submit", className: "primary", "data-control": "reflect" }, "Save reflection");
    const form = h("form", { className: "tool-form" },
      field(v.reflection?.question ?? "Your reflection", text),
      h("div", { className: "actions" }, save),
      v.reflection?.mine ? h("p", { className: "quiet" }, "Saved with the session record. You can change it.") : "");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!text.value.trim()) return this.say("Write a few words first.", "error");
      this.act(save, "reflect", { text: text.value.trim() });
    });
    return form;
  }
}

// --- a tool this page has no panel for (an outside plugin) ----------------------------------

class GenericPanel extends Panel {
  blocks(v) {
    return [
      ["view", v, () => h("details", {}, h("summary", {}, "What this tool shows you"),
        h("pre", { className: "tool-raw" }, JSON.stringify(v, null, 2)))],
      this.clinician && ["controls", null, () => h("div", { className: "actions" }, this.stopButton(`Stop ${this.item.title}`))],
    ];
  }
}

const PANELS = { timeout: TimeoutPanel, checkin: CheckinPanel, exercises: ExercisesPanel, roleplay: RoleplayPanel };

// --- helpers --------------------------------------------------------------------------------

function rank(name) {
  const i = ORDER.indexOf(name);
  return i === -1 ? ORDER.length : i;
}

let nextId = 0;
function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}


function field(label, control) {
  if (!control.id) control.id = uid("field");
  return h("div", { className: "field" }, h("label", { htmlFor: control.id }, label), control);
}

function minutesSelect() {
  return h("select", { id: uid("minutes"), "data-field": "minutes" },
    ...MINUTES.map((m) => h("option", { value: String(m), selected: m === 5 }, m === 1 ? "1 minute" : `${m} minutes`)));
}

/** A box for what only the clinician sees, marked as such. */
function onlyYou(content, title = "Guide") {
  return h("aside", { className: "only-you" },
    h("p", { className: "only-you-label" }, `Only you see this · ${title}`), content);
}

/**
 * A countdown kept current by {@link ToolsPanel#tick}: the server's deadline (seconds since the
 * epoch), bounded by the step's length so a clock that is off cannot show more than that.
 */
function timer(deadline, total, suffix, doneText) {
  const node = h("span", { role: "timer", "data-deadline": String(deadline ?? 0), "data-total": String(total ?? 0), "data-suffix": suffix, "data-done": doneText });
  node.textContent = countdown(node);
  return node;
}

/** @param {HTMLElement} node */
function countdown(node) {
  const deadline = Number(node.dataset.deadline);
  const total = Number(node.dataset.total) || Infinity;
  const left = Math.min(total, Math.max(0, deadline - Date.now() / 1000));
  if (!deadline || left <= 0) return node.dataset.done ?? "Time's up.";
  const whole = Math.ceil(left);
  const m = Math.floor(whole / 60);
  const s = String(whole % 60).padStart(2, "0");
  return `${m}:${s} ${node.dataset.suffix ?? "left"}`;
}

function problemText(error) {
  if (!error) return "";
  return PLAIN[error.code] ?? error.message ?? "That didn't work. Please try again.";
}

function note(where, text, kind = "") {
  if (!where) return;
  where.textContent = text;
  where.hidden = !text;
  where.classList.toggle("is-error", kind === "error");
}

function focusHeading(heading) {
  heading.tabIndex = -1;
  heading.focus();
}

/**
 * Makes `container`'s children the given blocks, rebuilding only the blocks whose data changed,
 * and carrying over what someone typed (`data-field`) and where their focus was
 * (`data-control` / `data-field`, else the same position).
 *
 * @param {HTMLElement} container
 * @param {Block[]} blocks `[key, data, build]`; falsy entries are skipped
 * @param {HTMLElement} fallback focused when the focused block goes away
 */
function patch(container, blocks, fallback) {
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
  if (twin && typeof twin.focus === "function" && !twin.disabled && twin.matches("button, input, select, textarea, summary, [tabindex]")) {
    twin.focus();
  } else {
    focusHeading(fallback);
  }
}

function pathOf(root, node) {
  const path = [];
  for (let n = node; n && n !== root; n = n.parentElement) {
    path.unshift([...n.parentElement.children].indexOf(n));
  }
  return path;
}
