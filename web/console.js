// The clinician's console on the session page: today's sessions of the program, attendance (per
// session and per week, as IOPs count weekly hours) and check-in trends, through the REST API with
// the page's own token (`Authorization: Bearer <token>`), as program.js does.
//
//   import { mountConsole } from "./console.js";
//   mountConsole({ token, you: snapshot.you, room: snapshot });
//
// Call it on every `room` event: the first call from a clinician mounts the console into
// `<div data-console>`; later calls refresh it (soon after the room changed, and every half
// minute while the page is visible). It is shown only while the clinician is in the session.
// Nothing is stored. Words, dates and times follow the page's locale (`console.*` in the
// catalogue, web/locales/<locale>/layout.json).

import { h } from "./dom.js";
import { errorText, locale, t } from "./i18n.js";
import { restCall } from "./sdk/rest.js";
const POLL_MS = 30_000;
const SOON_MS = 1500;

/** Values with words in the catalogue (`console.<group>.<value>`); anything else is shown as is. */
const KNOWN = {
  role: new Set(["clinician", "client", "partner"]),
  kind: new Set(["individual", "couples"]),
  status: new Set(["open", "ended"]),
  mood: new Set(["1", "2", "3", "4", "5"]),
  readiness: new Set(["1", "2", "3", "4", "5"]),
};

/** The catalogue's word for `value` in `group`, or `value` itself. */
function word(group, value) {
  return KNOWN[group].has(String(value)) ? t(`console.${group}.${value}`) : String(value ?? "");
}

/** Codes after which this page's token cannot be used any more. */
const TOKEN_GONE = new Set(["E_TOKEN_EXPIRED", "E_TOKEN_INVALID", "E_TOKEN_MISSING"]);
/** Codes that say a part has nothing for this person: it stays hidden and is not asked again. */
const NOT_FOR_YOU = new Set(["E_FORBIDDEN_ROLE", "E_FORBIDDEN_PROGRAM", "E_PROGRAM_NOT_FOUND", "E_TOOL_UNKNOWN"]);

/** @type {Console | null} */
let mounted = null;

/**
 * @param {object} options
 * @param {string} options.token
 * @param {{id: string, role: string} | null} options.you
 * @param {{id: string, program: string, version: number, participants?: any[]}} options.room
 */
export function mountConsole({ token, you, room }) {
  const root = /** @type {HTMLElement | null} */ (document.querySelector("[data-console]"));
  if (!root || !token || you?.role !== "clinician" || !room?.program) return null;
  if (!mounted) {
    mounted = new Console(root, token, room);
    mounted.start();
  } else {
    mounted.roomChanged(room);
  }
  return mounted;
}

class Console {
  /**
   * @param {HTMLElement} root
   * @param {string} token
   * @param {any} room
   */
  constructor(root, token, room) {
    this.root = root;
    this.token = token;
    this.room = room;
    this.base = `/api/programs/${encodeURIComponent(room.program)}`;
    /** @type {Map<string, {name: string, role: string}>} */
    this.people = new Map();
    this.programLoaded = false;
    this.trendWanted = true;
    this.stopped = false;
    this.unwanted = false;
    this.busy = false;
    this.again = false;
    this.timer = 0;
    this.soon = 0;
  }

  start() {
    this.root.classList.add("console");
    this.sessions = part("console-sessions", t("console.sessions.title"));
    this.attendance = part("console-attendance", t("console.attendance.title"));
    this.checkins = part("console-checkins", t("console.checkins.title"));
    this.problem = h("p", { className: "form-error", role: "status", hidden: true });
    this.root.replaceChildren(this.problem, this.sessions.section, this.attendance.section, this.checkins.section);
    this.follow();
    new MutationObserver(() => this.follow()).observe(document.body, { attributes: true, attributeFilter: ["data-phase"] });
    this.timer = setInterval(() => {
      if (!document.hidden && this.shown()) this.refresh();
    }, POLL_MS);
  }

  shown() {
    return document.body.dataset.phase === "in";
  }

  /** Shown only while the clinician is in the session; refreshed on coming (back) in. */
  follow() {
    const on = this.shown() && !this.unwanted;
    const was = !this.root.hidden;
    this.root.hidden = !on;
    if (on && !was) this.refresh();
  }

  roomChanged(room) {
    const before = this.room;
    this.room = room;
    for (const p of room.participants ?? []) this.learn(p.id, p.name, p.role);
    if (before.version !== room.version || before.id !== room.id) {
      clearTimeout(this.soon);
      this.soon = setTimeout(() => this.refresh(), SOON_MS);
    }
  }

  learn(id, name, role) {
    if (!id || !name) return;
    const known = this.people.get(id);
    if (!known || (!known.role && role)) this.people.set(id, { name, role: role ?? known?.role ?? "" });
  }

  async refresh() {
    if (this.stopped || !this.shown()) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.load();
      } while (this.again && !this.stopped);
    } finally {
      this.busy = false;
    }
  }

  async load() {
    if (!this.programLoaded) {
      const info = await this.api(this.base);
      if (!info.ok && this.gone(info.error)) return;
      if (info.ok) {
        this.programLoaded = true;
        const p = info.data ?? {};
        if (p.client) this.learn(p.client.id, p.client.name, "client");
        for (const c of p.clinicians ?? []) this.learn(c.id, c.name, "clinician");
        if (p.partner?.id) this.learn(p.partner.id, p.partner.name || t("console.partner"), "partner");
      }
    }
    const [sessions, attendance, trend] = await Promise.all([
      this.api(`${this.base}/sessions`),
      this.api(`${this.base}/attendance`),
      this.trendWanted ? this.api(`${this.base}/checkin-trend`) : Promise.resolve(null),
    ]);
    for (const answer of [sessions, attendance]) {
      if (!answer.ok && this.gone(answer.error)) return;
    }
    if (trend && !trend.ok && NOT_FOR_YOU.has(trend.error.code)) {
      this.trendWanted = false; // no check-in tool here: the part stays hidden
    }
    if (trend?.ok) {
      for (const p of trend.data?.participants ?? []) this.learn(p.participant, p.name, p.role);
    }
    const failed = [sessions, attendance, trend].find((a) => a && !a.ok && !NOT_FOR_YOU.has(a.error.code));
    this.say(failed ? t("console.partial", { message: errorText(failed.error.code, failed.error.message) }) : "");

    if (sessions.ok) this.renderSessions(Array.isArray(sessions.data) ? sessions.data : []);
    if (attendance.ok) this.renderAttendance(attendance.data ?? {});
    this.checkins.section.hidden = !this.trendWanted;
    if (trend?.ok) this.renderTrend(trend.data?.participants ?? []);
  }

  /** @returns {boolean} whether the console should stop (the error is final) */
  gone(error) {
    if (NOT_FOR_YOU.has(error.code)) {
      this.stop();
      this.unwanted = true;
      this.root.hidden = true;
      return true;
    }
    if (TOKEN_GONE.has(error.code)) {
      this.say(t("console.token-gone"));
      this.stop();
      return true;
    }
    return false;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  say(text) {
    if (this.problem.textContent !== text) this.problem.textContent = text;
    this.problem.hidden = !text;
  }

  // --- today's sessions ---------------------------------------------------------------------

  renderSessions(all) {
    const today = new Date().toDateString();
    const todays = all.filter((s) =>
      s.id === this.room.id ||
      (typeof s.startsAt === "number" ? new Date(s.startsAt * 1000).toDateString() === today : s.status !== "ended"));
    todays.sort((a, b) => (a.startsAt ?? Infinity) - (b.startsAt ?? Infinity) || String(a.id).localeCompare(b.id));
    const sig = JSON.stringify([todays, this.room.id]);
    if (this.sessions.body.dataset.sig === sig) return;
    this.sessions.body.dataset.sig = sig;
    if (todays.length === 0) {
      this.sessions.body.replaceChildren(h("p", { className: "quiet" }, t("console.sessions.none")));
      return;
    }
    const list = h("ul", { className: "people session-list" }, ...todays.map((s) => {
      const here = s.id === this.room.id;
      const time = typeof s.startsAt === "number" ? clock(s.startsAt) : t("console.sessions.no-time");
      return h("li", { className: "person" },
        h("p", { className: "person-text" },
          h("strong", {}, s.id), here ? ` ${t("console.sessions.this")}` : "",
          h("span", { className: "since" }, t("console.sessions.line", { kind: word("kind", s.kind), time }))),
        h("p", { className: "session-status", "data-status": s.status }, word("status", s.status)));
    }));
    this.sessions.body.replaceChildren(list);
  }

  // --- attendance ---------------------------------------------------------------------------

  renderAttendance(data) {
    const sessions = Array.isArray(data.sessions) ? data.sessions : [];
    const weekly = Array.isArray(data.weekly) ? data.weekly : [];
    const rows = sessions.flatMap((s) => (s.participants ?? []).map((p) => ({ session: s.session, ...p })));
    const sig = JSON.stringify([rows.map((r) => [r.session, r.id, r.role, Math.floor(r.minutes)]), weekly.map((w) => [w.week, w.participant, Math.floor(w.minutes)]), [...this.people]]);
    if (this.attendance.body.dataset.sig === sig) return;
    this.attendance.body.dataset.sig = sig;
    if (rows.length === 0) {
      this.attendance.body.replaceChildren(h("p", { className: "quiet" }, t("console.attendance.none")));
      return;
    }
    const bySession = table(t("console.attendance.per-session"),
      [t("console.col.session"), t("console.col.person"), t("console.col.time")],
      rows.map((r) => [r.session, this.who(r.id, r.role), duration(r.minutes)]));
    const byWeek = table(t("console.attendance.weekly"),
      [t("console.col.week"), t("console.col.person"), t("console.col.time")],
      weekly.map((w) => [weekWords(w.week), this.who(w.participant, w.role), duration(w.minutes)]));
    this.attendance.body.replaceChildren(bySession, byWeek);
  }

  who(id, role) {
    const known = this.people.get(id);
    const name = known?.name || id;
    const r = word("role", role || known?.role || "");
    return r ? t("console.who", { name, role: r }) : name;
  }

  // --- check-in trends ----------------------------------------------------------------------

  renderTrend(participants) {
    const sig = JSON.stringify(participants);
    if (this.checkins.body.dataset.sig === sig) return;
    this.checkins.body.dataset.sig = sig;
    const people = participants.filter((p) => Array.isArray(p.points) && p.points.length);
    if (people.length === 0) {
      this.checkins.body.replaceChildren(h("p", { className: "quiet" }, t("console.checkins.none")));
      return;
    }
    this.checkins.body.replaceChildren(
      h("p", { className: "quiet" }, t("console.checkins.intro")),
      ...people.map((p) => table(this.who(p.participant, p.role),
        [t("console.col.when"), t("console.col.mood"), t("console.col.readiness")],
        p.points.slice(-10).map((pt) => [
          pt.phase ? t(pt.phase === "start" ? "console.when.start" : "console.when.end", { day: day(pt.at) }) : day(pt.at),
          t("console.score", { value: pt.mood, word: word("mood", pt.mood) }),
          t("console.score", { value: pt.readiness, word: word("readiness", pt.readiness) }),
        ]), trendLine(p.points))));
  }

  // --- REST ---------------------------------------------------------------------------------

  /**
   * @param {string} path
   * @returns {Promise<{ok: true, data: any} | {ok: false, error: {code: string, message: string}}>}
   */
  async api(path) {
    return restCall(this.token, "GET", path);
  }
}

// --- building blocks ----------------------------------------------------------------------------

/** A titled panel of the console. */
function part(id, title) {
  const body = h("div", { className: "console-body" });
  const section = h("section", { className: "panel console-part", "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title), body);
  return { section, body };
}

/**
 * A small table: a caption, column headers, and the first cell of each row as its header.
 *
 * @param {string} caption
 * @param {string[]} columns
 * @param {string[][]} rows
 * @param {string} [summary] a sentence after the table
 */
function table(caption, columns, rows, summary = "") {
  const t = h("table", { className: "console-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {},
      ...cells.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
  if (!summary) return t;
  return h("div", { className: "console-figure" }, t, h("p", { className: "hint" }, summary));
}

/** One plain sentence on how the latest check-in compares with the first. */
function trendLine(points) {
  if (points.length < 2) return "";
  const first = points[0];
  const last = points[points.length - 1];
  const way = (a, b) => t(b > a ? "console.trend.higher" : b < a ? "console.trend.lower" : "console.trend.same");
  return t("console.trend", { mood: way(first.mood, last.mood), readiness: way(first.readiness, last.readiness) });
}

/** Minutes as a person reads them: "under a minute", "12 min", "1 h 05 min". */
function duration(minutes) {
  const m = Math.floor(Number(minutes) || 0);
  if (m < 1) return t("console.duration.under-a-minute");
  if (m < 60) return t("console.duration.minutes", { minutes: m });
  return t("console.duration.hours", { hours: Math.floor(m / 60), minutes: String(m % 60).padStart(2, "0") });
}

/** "2026-W48" → "Week of Mon 23 Nov 2026". */
function weekWords(week) {
  const match = /^(\d{4})-W(\d{2})$/.exec(String(week));
  if (!match) return String(week);
  const [year, n] = [Number(match[1]), Number(match[2])];
  // ISO week 1 holds 4 January; weeks start on Monday.
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const monday = new Date(jan4);
  monday.setUTCDate(jan4.getUTCDate() - ((jan4.getUTCDay() + 6) % 7) + (n - 1) * 7);
  const words = monday.toLocaleDateString(locale(), { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  return t("console.week-of", { date: words });
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString(locale(), { hour: "numeric", minute: "2-digit" });
}

function day(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(locale(), { weekday: "short", day: "numeric", month: "short" });
}


