// In-session tools on the session page (docs/plugins.md): the launcher. It starts and stops
// tools, shows a failed tool to the clinician, and gives each running tool's view to that
// tool's own panel: an ES module the server serves from the tool's package
// (/static/tools/<name>/panel.js), loaded by dynamic import(); the built-ins are no different.
// For clients and partners in couples sessions, a Time-out button is always there.
//
//   import { mountTools } from "./tools.js";
//   mountTools({ room, you: answer.you, snapshot: answer.room }); // after a successful join
//
// It fills `<section data-tools>`, asks the server for `tools` each time this person is (again)
// admitted, then follows the server's `tool` events. Every view arrives already filtered for this
// person's role on the server: this page never holds anything it may not show. Nothing is stored.
// While a panel updates, what someone is typing and where their focus is are kept.

import { focusHeading, h, note, patch, uid } from "./dom.js";
import { chooseLocale, errorText, has, loaded, locale, t, useLocale } from "./i18n.js";
import { countdown } from "./tool-kit.js";
import * as raw from "./tool-raw.js";

/** The order panels are shown in; any other tool comes after these. */
const ORDER = ["timeout", "checkin", "exercises", "roleplay"];
const TICK_MS = 1000;

// Words come from the catalogue (docs/i18n.md): the launcher's under `tools.launcher.*`
// (web/locales/<locale>/tools.json), each tool's own under `tools.<name>.*`.

/** @type {ToolsPanel | null} */
let mounted = null;
/** @type {Promise<unknown> | null} */
let catalogue = null;
let catalogueTried = false;

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
  if (!loaded() && !catalogueTried) {
    // A page that has not loaded its catalogue yet (it should, before rendering): load the
    // one chooseLocale() picks, then mount, so no bare key is ever shown.
    catalogue ??= useLocale(chooseLocale()).catch(() => {}).finally(() => { catalogueTried = true; });
    catalogue.then(() => mountTools({ room, you, snapshot: room.snapshot ?? snapshot }));
    return null;
  }
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
    /** @type {Map<string, Frame>} */
    this.panels = new Map();
    /** Each tool's panel module once loaded (`raw` when it has none or it failed to load). */
    this.modules = new Map();
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
    ui.launcher.append(h("summary", {}, h("h3", { className: "tool-launcher-title" }, t("tools.launcher.start-a-tool"))), ui.launcherBody);
    this.anyRunning = false;
    ui.timeoutButton = h("button", { type: "button", className: "timeout-button", "data-control": "call-timeout" }, t("tools.launcher.timeout"));
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
      if (answer.error.code !== "E_NOT_ADMITTED") note(this.ui.status, problemText(answer.error, ""));
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
      note(where, problemText(answer.error, payload?.tool ?? ""), "error");
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
      for (const panel of this.panels.values()) panel.remove();
      this.panels.clear();
      return;
    }
    this.ui.title.textContent = t(this.clinician ? "tools.launcher.title-clinician" : "tools.launcher.title");
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
    this.ui.timeoutHint.textContent = t(busy ? "tools.launcher.timeout-busy" : "tools.launcher.timeout-hint");
  }

  renderPanels(visible) {
    // A panel whose module is still loading waits for the next render (its load asks for one).
    const sorted = visible.filter((t) => this.module(t.name)).sort((a, b) => rank(a.name) - rank(b.name));
    const wanted = new Set(sorted.map((t) => t.name));
    for (const [name, panel] of this.panels) {
      if (wanted.has(name)) continue;
      if (panel.root.contains(document.activeElement)) focusHeading(this.ui.title);
      panel.remove();
      this.panels.delete(name);
    }
    sorted.forEach((item, i) => {
      let panel = this.panels.get(item.name);
      if (!panel) {
        panel = new Frame(this, item.name, this.module(item.name));
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
      ...startable.map((t) => {
        const module = this.module(t.name);
        return module && [`start-${t.name}`, { t, kind: this.snap?.kind, partners }, () => this.startRow(t, module)];
      }),
    ], this.ui.title);
  }

  /**
   * Tool `name`'s panel module, or null while it loads (the launcher renders again then).
   * A tool with no panel, or one that fails to load, gets the raw view (`tool-raw.js`).
   */
  module(name) {
    const found = this.modules.get(name);
    if (found !== undefined) return found;
    this.modules.set(name, null);
    import(`/static/tools/${encodeURIComponent(name)}/panel.js`)
      .then((m) => (typeof m.mount === "function" ? m : raw))
      .catch(() => raw)
      .then((m) => {
        this.modules.set(name, m);
        this.render();
      });
    return null;
  }

  /** One tool in the launcher: its title, what its panel module's `launch` adds, `Start <title>`. */
  startRow(tool, module) {
    const title = toolTitle(tool);
    const row = h("div", { className: "tool-start" }, h("h4", {}, title));
    const message = h("p", { className: "tool-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary", "data-control": "start" }, t("tools.launcher.start", { title }));
    const start = (options, by) => this.send(by, "tool:start", { tool: tool.name, options }, message);
    let launched = { read: () => ({}) };
    if (typeof module.launch === "function") {
      try {
        launched = module.launch(row, this.launchApi(tool, start)) ?? launched;
      } catch (error) {
        console.error(`the ${tool.name} panel's launch failed`, error);
      }
    }
    button.addEventListener("click", () => start(launched.read?.() ?? {}, button));
    row.append(h("div", { className: "actions" }, button, ...(launched.buttons ?? [])), message);
    return row;
  }

  /** What a panel module's `launch(element, api)` is given (docs/plugins.md, "Panels"). */
  launchApi(tool, start) {
    const host = this;
    return {
      name: tool.name,
      title: toolTitle(tool),
      t: (key, params) => t(`tools.${tool.name}.${key}`, params),
      has: (key) => has(`tools.${tool.name}.${key}`),
      catalog: tool.catalog ?? null,
      get you() { return host.you; },
      get couples() { return host.couples; },
      people: () => host.people(),
      partners: () => host.partners(),
      start: (options = {}, button = null) => start(options, button),
    };
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

// --- one running (or failed) tool: its section, its panel, the api the panel is given ---------

/**
 * The frame around one tool's panel: a section named by its heading, the panel's own element,
 * and a status line for refusals. The panel is mounted while the tool runs; when the tool
 * fails it is destroyed and the clinician reads what happened here instead.
 */
class Frame {
  /** @param {ToolsPanel} host @param {string} name @param {any} module */
  constructor(host, name, module) {
    this.host = host;
    this.name = name;
    this.module = module;
    const id = uid(`tool-${name}`);
    this.title = h("h3", { id, tabIndex: -1 });
    this.body = h("div", { className: "tool-body" });
    this.message = h("p", { className: "tool-note", role: "status", hidden: true });
    this.root = h("section", { className: "tool", "data-tool": name, "aria-labelledby": id },
      this.title, this.body, this.message);
    /** @type {any} */
    this.item = null;
    /** @type {{update(view: any): void, destroy(): void} | null} */
    this.panel = null;
  }

  /** @param {{name: string, title: string, status: string, view?: any, error?: string}} item */
  update(item) {
    this.item = item;
    if (item.status !== "running") {
      this.unmount();
      this.title.textContent = toolTitle(item);
      patch(this.body, this.failed(item), this.title);
      return;
    }
    if (!this.panel) this.mount();
    try {
      this.panel.update(item.view ?? {});
    } catch (error) {
      // A panel's bug must not take the page down; the raw view still shows what it received.
      console.error(`the ${this.name} panel failed`, error);
      this.unmount();
      this.module = raw;
      this.mount();
      this.panel.update(item.view ?? {});
    }
  }

  mount() {
    this.body.replaceChildren();
    this.panel = this.module.mount(this.body, this.api());
  }

  unmount() {
    if (!this.panel) return;
    try {
      this.panel.destroy?.();
    } catch (error) {
      console.error(`the ${this.name} panel failed to close`, error);
    }
    this.panel = null;
    this.body.replaceChildren();
  }

  remove() {
    this.unmount();
    this.root.remove();
  }

  failed(item) {
    return [["failed", { error: item.error }, () => {
      const hide = h("button", { type: "button", "data-control": "hide" }, t("tools.launcher.hide-note"));
      hide.addEventListener("click", () => {
        this.host.dismissed.add(`${item.name}:${item.error}`);
        this.host.render();
      });
      return h("div", { className: "tool-failed" },
        h("p", {}, t("tools.launcher.failed")),
        h("p", { className: "quiet" }, t("tools.launcher.failed-detail", { code: item.error ?? "E_TOOL_FAILED" })),
        h("div", { className: "actions" }, hide));
    }]];
  }

  /** What `mount(element, api)` is given (docs/plugins.md, "Panels"). */
  api() {
    const frame = this;
    const host = this.host;
    const act = (action, payload = {}, button = null) =>
      host.send(button, "tool:act", { tool: frame.name, action, payload }, frame.message);
    const stop = (button = null) => host.send(button, "tool:stop", { tool: frame.name }, frame.message);
    return {
      name: frame.name,
      t: (key, params) => t(`tools.${frame.name}.${key}`, params),
      has: (key) => has(`tools.${frame.name}.${key}`),
      get title() { return frame.item ? toolTitle(frame.item) : frame.name; },
      get you() { return host.you; },
      get clinician() { return host.clinician; },
      get couples() { return host.couples; },
      people: () => host.people(),
      partners: () => host.partners(),
      nameOf: (id) => (id === host.you?.id ? t("tools.kit.you") : host.people().get(id)?.name ?? t("tools.kit.someone")),
      act,
      stop,
      setTitle: (text) => { frame.title.textContent = text || (frame.item ? toolTitle(frame.item) : frame.name); },
      render: (blocks) => patch(frame.body, blocks, frame.title),
      say: (text, kind = "") => note(frame.message, text, kind),
      announce: (text) => host.announce(text),
      reveal: () => frame.root.scrollIntoView({ block: "start" }),
      /** A button that runs `action`; `payload` may be a function reading it (null: do nothing). */
      button(label, action, payload = {}, className = "") {
        const button = h("button", { type: "button", className, "data-control": action }, label);
        button.addEventListener("click", () => {
          const body = typeof payload === "function" ? payload() : payload;
          if (body) act(action, body, button);
        });
        return button;
      },
      stopButton(label) {
        const button = h("button", { type: "button", className: "danger", "data-control": "stop" }, label);
        button.addEventListener("click", () => stop(button));
        return button;
      },
    };
  }
}

// --- helpers --------------------------------------------------------------------------------

function rank(name) {
  const i = ORDER.indexOf(name);
  return i === -1 ? ORDER.length : i;
}

/** A tool's title in the page's language: its catalogue's `title`, else what the server says. */
function toolTitle(tool) {
  const key = `tools.${tool.name}.title`;
  return has(key) ? t(key) : tool.title ?? tool.name;
}

/**
 * What a refusal says to the person: the launcher's plainer words for a few shared codes
 * (`tools.launcher.error.<code>`); in English the server's own sentence (it can be more
 * precise); in any other language the tool's words for its code (`tools.<name>.error.<code>`),
 * then the catalogue's `errors.<code>`, then `errors.unknown`: never an English sentence.
 */
function problemText(error, tool) {
  if (!error) return "";
  const plain = `tools.launcher.error.${error.code}`;
  if (has(plain)) return t(plain);
  if (locale() === "en" && typeof error.message === "string" && error.message) return error.message;
  const own = `tools.${tool}.error.${error.code}`;
  if (tool && has(own)) return t(own);
  return errorText(error.code);
}
