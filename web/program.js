// The program panel on the session page: the partner's part in couples sessions, as each role
// may see it, through the REST API (`Authorization: Bearer <token>`, the page's own token).
//
//   import { mountProgramPanel } from "./program.js";
//   mountProgramPanel({ token, you: snapshot.you, room: snapshot, leave: () => room.leave() });
//
// Call it after a successful join and again on every `room` event: the first call mounts the
// panel into `<section data-program>`, later calls refresh it when the room changed. It also
// refreshes after each action and every few seconds while the page is visible. Nothing is
// stored: an invite link is shown once, in memory, and is gone with the page.

import { h, keepFocus, note, patch, replaceIfChanged } from "./dom.js";
import { restCall, restFailure } from "./sdk/rest.js";
const POLL_MS = 5000;

const STATE_FOR_CLINICIAN = {
  not_invited: "Not invited yet.",
  invited: "Invited. No answer yet.",
  deferred: "Said not now.",
  declined: "Declined.",
  consented: "Consented to trial sessions.",
  requested: "Asked to continue; waiting for a clinician's decision.",
  approved: "Approved for couples sessions.",
  active: "Taking part in couples sessions.",
  paused: "Paused by the client.",
  withdrawn: "Withdrew their consent.",
  revoked: "Access closed by a clinician.",
};

const HISTORY_WORDS = {
  "client-agreed": "The client agreed to invite their partner",
  "request-declined": "A request was declined",
  not_invited: "Not invited",
  invited: "Invited",
  deferred: "Said not now",
  declined: "Declined",
  consented: "Consented to trial sessions",
  requested: "Asked to continue",
  approved: "Approved",
  active: "First couples session attended",
  paused: "Paused",
  withdrawn: "Withdrew consent",
  revoked: "Access closed",
};

const BY_WORDS = { clinician: "a clinician", client: "the client", partner: "the partner", system: "the system" };

/** What the client may learn: only what the partner chose to share. */
const SHARED_FOR_CLIENT = {
  consented: "Your partner has said yes to trying a couples session.",
  requested: "Your partner has asked to keep joining couples sessions.",
  deferred: "Your partner has said not now.",
  declined: "Your partner has decided not to take part. Your own program goes on the same.",
  withdrawn: "Your partner has stopped taking part. Your own program goes on the same.",
};

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

/** @type {Panel | null} */
let panel = null;

/**
 * Mounts the panel (first call) or tells it the room changed (later calls).
 *
 * @param {object} options
 * @param {string} options.token The page's access token.
 * @param {{id: string, name: string, role: string}} options.you From the room snapshot.
 * @param {{id: string, kind: string, program: string, version: number}} options.room The snapshot.
 * @param {() => Promise<unknown>} [options.leave] Leaves the room before going to another one.
 * @returns {Panel | null}
 */
export function mountProgramPanel({ token, you, room, leave }) {
  const section = document.querySelector("[data-program]");
  if (!section || !token || !you?.role || !room?.program) return null;
  if (!["clinician", "client", "partner"].includes(you.role)) return null;
  if (!panel) {
    panel = new Panel({ section, token, you, room, leave });
    panel.start();
  } else {
    panel.roomChanged(room);
  }
  return panel;
}

class Panel {
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
    this.asked = false; // client: asked for couples sessions from this page
    this.confirmingStop = false;
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
    if (this.role === "clinician" && before.kind !== room.kind) this.renderInviteMaker();
    if (before.id !== room.id || before.version !== room.version) {
      clearTimeout(this.soon);
      this.soon = setTimeout(() => this.refresh(), 250);
    }
  }

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
        if (this.role === "clinician") this.renderInviteMaker(); // now with maxTrials
      }
    }
    const partner = await this.api("GET", `${this.base}/partner`);
    if (!partner.ok) {
      this.loadProblem(partner.error);
      return;
    }
    this.loadProblem(null);
    this.section.hidden = false;
    if (this.role === "clinician") {
      const approvals = await this.api("GET", `${this.base}/approvals`);
      this.renderClinician(partner.data, approvals.ok ? approvals.data : null);
    } else if (this.role === "client") {
      this.renderClient(partner.data);
    } else {
      let sessions = null;
      if (["approved", "active"].includes(partner.data.state)) {
        const answer = await this.api("GET", `${this.base}/sessions`);
        sessions = answer.ok ? answer.data : [];
      }
      this.renderPartner(partner.data, sessions);
    }
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
    const title = h("h2", { id: "program-title" }, {
      clinician: "Partner and couples sessions",
      client: "Your partner and couples sessions",
      partner: "Your part in couples sessions",
    }[this.role]);
    const problem = h("p", { className: "form-error", role: "status", hidden: true });
    this.ui = { title, problem };
    this.section.replaceChildren(title, problem);
    if (this.role === "clinician") this.buildClinician();
    else if (this.role === "client") this.buildClient();
    else this.buildPartner();
  }

  // --- clinician ----------------------------------------------------------------------------

  buildClinician() {
    const ui = this.ui;
    ui.summary = h("dl", { className: "facts" });
    ui.summaryNote = h("p", { className: "quiet" });

    ui.queueList = h("ul", { className: "people program-list" });
    ui.queueEmpty = h("p", { className: "quiet" }, "No requests are waiting.");
    ui.queueMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const queue = block("Requests to continue", ui.queueEmpty, ui.queueList, ui.queueMessage);

    ui.inviteMaker = h("div", { className: "invite-maker" });
    ui.inviteResult = h("div", { className: "invite-result", hidden: true });
    ui.invitesList = h("ul", { className: "people program-list" });
    ui.invitesEmpty = h("p", { className: "quiet" }, "No invite links yet.");
    ui.invitesMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const invites = block("Trial invite links", ui.inviteMaker, ui.inviteResult,
      h("h4", {}, "Links made so far"), ui.invitesEmpty, ui.invitesList, ui.invitesMessage);

    ui.checkinMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const checkinForm = this.readinessControl("clinician-readiness", "Partner's readiness today",
      "Record check-in", async (value, button) => {
        await this.act(button, ui.checkinMessage,
          () => this.api("POST", `${this.base}/checkins`, { readiness: Number(value) }),
          "Check-in recorded.");
      }, ui.checkinMessage);
    ui.readinessList = h("ul", { className: "plain-list" });
    ui.readinessEmpty = h("p", { className: "quiet" }, "No check-ins yet.");
    const readiness = block("Readiness check-in", checkinForm, ui.checkinMessage,
      h("h4", {}, "Readiness history"), ui.readinessEmpty, ui.readinessList);

    ui.historyList = h("ol", { className: "plain-list" });
    const history = h("details", { className: "program-block" },
      h("summary", {}, "Status history"), ui.historyList);

    this.section.append(
      block("Partner", ui.summary, ui.summaryNote), queue, invites, readiness, history);
    this.renderInviteMaker();
  }

  renderInviteMaker() {
    const ui = this.ui;
    if (this.room.kind !== "couples") {
      ui.inviteMaker.replaceChildren(h("p", { className: "quiet" },
        "Invite links are made from a couples session, for that session."));
      return;
    }
    const max = Math.max(1, Number(this.info?.maxTrials) || 1);
    const select = h("select", { id: "invite-quota" },
      ...Array.from({ length: max }, (_, i) => h("option", { value: String(i + 1) }, String(i + 1))));
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary" }, "Create invite link");
    button.addEventListener("click", () => this.act(button, message, async () => {
      const answer = await this.api("POST", `${this.base}/invites`,
        { room: this.room.id, quota: Number(select.value) });
      if (answer.ok) this.showInviteLink(answer.data);
      return answer;
    }));
    ui.inviteMaker.replaceChildren(
      h("p", { className: "quiet" },
        `A link for the partner to try this session (${this.room.id}). They can say yes, not now, or no.`),
      h("div", { className: "field" },
        h("label", { htmlFor: "invite-quota" }, "Trial sessions this link opens"), select),
      h("div", { className: "actions" }, button),
      message,
    );
  }

  showInviteLink(invite) {
    const url = new URL(invite.url, location.origin).href;
    const input = h("input", { id: "invite-link", type: "text", readOnly: true, value: url,
      autocomplete: "off" });
    input.addEventListener("focus", () => input.select());
    const copied = h("p", { className: "program-note", role: "status", hidden: true });
    const copy = h("button", { type: "button" }, "Copy link");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        note(copied, "Link copied.");
      } catch {
        input.focus();
        input.select();
        note(copied, "Copying didn't work here. The link is selected, so you can copy it with your keyboard.");
      }
    });
    const uses = invite.quota === 1 ? "one trial session" : `up to ${invite.quota} trial sessions`;
    this.ui.inviteResult.replaceChildren(
      h("div", { className: "field" }, h("label", { htmlFor: "invite-link" }, "Invite link"), input),
      h("div", { className: "actions" }, copy),
      copied,
      h("p", { className: "plain-note" },
        `Send this link to the partner privately, in a message only they will read. ` +
        `It opens ${uses} and works until ${when(invite.expiresAt)}. ` +
        "For privacy it isn't kept: once you leave this page, it can't be shown again."),
    );
    this.ui.inviteResult.hidden = false;
  }

  renderClinician(p, approvals) {
    const ui = this.ui;
    const facts = [
      ["Name", p.name || "Partner"],
      ["Status", STATE_FOR_CLINICIAN[p.state] ?? p.state],
      ["Client agreed to invite", p.clientAgreed ? "Yes" : "Not yet"],
      ["Trial sessions attended", String(p.trialsAttended ?? 0)],
    ];
    if (p.consentedAt) facts.push(["Consented", `${when(p.consentedAt)} (text ${p.consentVersion})`]);
    if (p.cooldownUntil && p.cooldownUntil * 1000 > Date.now()) {
      facts.push(["No new invitation before", when(p.cooldownUntil)]);
    }
    if (p.approvalNote) facts.push(["Last decision note", p.approvalNote]);
    if (p.lastCheckin) facts.push(["Last check-in", `${p.lastCheckin.readiness} of 5, ${when(p.lastCheckin.at)}`]);
    replaceIfChanged(ui.summary, facts, () =>
      facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
    ui.summaryNote.textContent = p.clientAgreed ? "" :
      "The client decides whether their partner is invited; they can agree from their own session page.";
    ui.summaryNote.hidden = !ui.summaryNote.textContent;

    if (approvals) {
      reconcile(ui.queueList, approvals, (r) => r.id, (r) => this.approvalItem(r));
      ui.queueEmpty.hidden = approvals.length > 0;
    }

    const invites = [...(p.invites ?? [])].sort((a, b) => b.createdAt - a.createdAt);
    reconcile(ui.invitesList, invites, (i) => i.id, (i) => this.inviteItem(i));
    ui.invitesEmpty.hidden = invites.length > 0;

    const checkins = [...(p.checkins ?? [])].reverse().slice(0, 8);
    replaceIfChanged(ui.readinessList, checkins, () => checkins.map((c) => h("li", {},
      `${c.readiness} of 5 · ${c.by === "partner" ? "self-reported" : "recorded by a clinician"} · ${when(c.at)}`,
      c.note ? h("span", { className: "since" }, c.note) : "")));
    ui.readinessEmpty.hidden = checkins.length > 0;

    const history = [...(p.history ?? [])].reverse();
    replaceIfChanged(ui.historyList, history, () => history.length
      ? history.map((t) => h("li", {},
        `${HISTORY_WORDS[t.state] ?? t.state}, by ${BY_WORDS[t.by] ?? t.by} · ${when(t.at)}`))
      : [h("li", {}, "Nothing yet.")]);
  }

  approvalItem(r) {
    const id = `approval-${r.id}`;
    const context = h("p", { className: "person-text", id: `${id}-context` },
      h("strong", {}, r.by === "client" ? "The client asked" : "The partner asked"),
      ` for couples sessions · ${when(r.at)}`,
      h("span", { className: "since" },
        `Trial sessions attended: ${r.trialsAttended}. ` +
        (r.lastCheckin
          ? `Last check-in: ${r.lastCheckin.readiness} of 5, ${when(r.lastCheckin.at)}.`
          : "No check-in yet.")));
    const textarea = h("textarea", { id: `${id}-note`, rows: 2, maxLength: 1000,
      "aria-describedby": `${id}-hint` });
    textarea.dataset.field = "note";
    const hint = h("p", { className: "hint", id: `${id}-hint` },
      "Required. A sentence on why, kept with the decision; clinicians only.");
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const approve = h("button", { type: "button", className: "primary" }, "Approve…");
    const decline = h("button", { type: "button" }, "Decline…");
    textarea.addEventListener("input", () => {
      if (!textarea.value.trim()) return;
      textarea.removeAttribute("aria-invalid");
      if (message.classList.contains("is-error")) note(message, "");
    });
    const decide = async (step, button) => {
      const text = textarea.value.trim();
      if (!text) {
        textarea.setAttribute("aria-invalid", "true");
        note(message, "Please write a short note first. It's kept with your decision.", "error");
        textarea.focus();
        return;
      }
      textarea.removeAttribute("aria-invalid");
      note(this.ui.queueMessage, "");
      const answer = await this.act(button, message, () => this.step(step, { note: text }));
      if (answer.ok) {
        note(this.ui.queueMessage, step === "approve"
          ? "Approved, with your note. The partner can now join couples sessions."
          : "Declined, with your note. The partner keeps their consent for trial sessions.");
      }
    };
    approve.addEventListener("click", () => decide("approve", approve));
    decline.addEventListener("click", () => decide("decline-request", decline));
    return h("li", { className: "person", role: "group", "aria-labelledby": `${id}-context` },
      context,
      h("div", { className: "field" }, h("label", { htmlFor: `${id}-note` }, "Note"), textarea, hint),
      h("div", { className: "actions" }, approve, decline),
      message);
  }

  inviteItem(i) {
    const id = `invite-${i.id}`;
    const expired = i.expiresAt * 1000 <= Date.now();
    const status = i.revoked ? "withdrawn" : i.used >= i.quota ? "used" : expired ? "expired" : "open";
    const text = h("p", { className: "person-text", id: `${id}-text` },
      h("strong", {}, i.room), ` · made ${when(i.createdAt)}`,
      h("span", { className: "since" },
        `Used ${i.used} of ${i.quota}. ` +
        { withdrawn: "Withdrawn.", used: "All used.", expired: "Expired.",
          open: `Open until ${when(i.expiresAt)}.` }[status]));
    const item = h("li", { className: "person", role: "group", "aria-labelledby": `${id}-text` }, text);
    if (!i.revoked) {
      const message = h("p", { className: "program-note", role: "status", hidden: true });
      const revoke = h("button", { type: "button", className: "danger" }, "Revoke");
      revoke.addEventListener("click", async () => {
        note(this.ui.invitesMessage, "");
        const answer = await this.act(revoke, message,
          () => this.api("DELETE", `${this.base}/invites/${encodeURIComponent(i.id)}`));
        if (answer.ok) note(this.ui.invitesMessage, "Link revoked. It no longer opens a session.");
      });
      item.append(h("div", { className: "actions" }, revoke), message);
    }
    return item;
  }

  // --- client -------------------------------------------------------------------------------

  buildClient() {
    const ui = this.ui;
    ui.intro = h("p", { className: "quiet" },
      "Couples sessions are optional. Your own program goes on the same, whatever happens here.");
    ui.agreement = h("div", { className: "program-block" });
    ui.status = h("p", {});
    ui.actions = h("div", { className: "actions" });
    ui.message = h("p", { className: "program-note", role: "status", hidden: true });
    this.section.append(ui.intro, ui.agreement, h("div", { className: "program-block" },
      ui.status, ui.actions, ui.message));
  }

  renderClient(p) {
    const ui = this.ui;
    const key = JSON.stringify([p, this.asked]);
    if (ui.agreement.dataset.sig === key) return;
    ui.agreement.dataset.sig = key;
    const focusedVerb = ui.actions.contains(document.activeElement) ? document.activeElement.textContent : "";

    if (p.clientAgreed) {
      ui.agreement.replaceChildren(h("p", {},
        "You've agreed that your clinician may invite your partner. Your partner decides for themselves."));
    } else {
      const agree = h("button", { type: "button", className: "primary" }, "Agree to invite my partner");
      const message = h("p", { className: "program-note", role: "status", hidden: true });
      agree.addEventListener("click", () => this.act(agree, message, () => this.step("agree"),
        "Thank you. Your clinician can now invite your partner."));
      ui.agreement.replaceChildren(
        h("p", {}, "Your clinician can invite your partner to a couples session only if you agree. " +
          "It's your choice."),
        h("div", { className: "actions" }, agree), message);
    }

    let status;
    if (p.paused) status = "You've paused your partner's access to couples sessions.";
    else if (p.couplesSessions) status = "Couples sessions with your partner are open.";
    else if (p.shared && SHARED_FOR_CLIENT[p.shared]) status = SHARED_FOR_CLIENT[p.shared];
    else if (p.clientAgreed) status = "Your partner's answer is theirs to share. Nothing has been shared with you.";
    else status = "";
    ui.status.textContent = status;
    ui.status.hidden = !status;

    const buttons = [];
    if (p.paused) {
      const resume = h("button", { type: "button" }, "Resume");
      resume.addEventListener("click", () => this.act(resume, ui.message, () => this.step("resume"),
        "Your partner's access is back to where it was."));
      buttons.push(resume);
    } else if (p.clientAgreed) {
      if (p.shared === "consented" && !p.couplesSessions && !(this.asked || p.requested)) {
        const ask = h("button", { type: "button", className: "primary" }, "Ask for couples sessions");
        ask.addEventListener("click", () => this.act(ask, ui.message, async () => {
          const answer = await this.step("request");
          if (answer.ok) this.asked = true;
          return answer;
        }, "You've asked. Your clinician will talk it through with you."));
        buttons.push(ask);
      }
      const pause = h("button", { type: "button" }, "Pause my partner's access");
      pause.addEventListener("click", () => this.act(pause, ui.message, () => this.step("pause"),
        "Paused. Your partner can't join couples sessions until you resume."));
      buttons.push(pause);
    }
    ui.actions.replaceChildren(...buttons);
    ui.actions.hidden = buttons.length === 0;
    const again = buttons.find((b) => b.textContent === focusedVerb);
    if (again) again.focus();
  }

  // --- partner ------------------------------------------------------------------------------

  buildPartner() {
    const ui = this.ui;
    ui.state = h("p", {});
    ui.next = h("div", { className: "program-block" });
    ui.sessions = h("ul", { className: "people program-list" });
    ui.sessionsBlock = h("div", { className: "program-block", hidden: true },
      h("h3", {}, "Couples sessions"), ui.sessions);
    ui.sessionsEmpty = h("p", { className: "quiet" }, "There are no other couples sessions open right now.");
    ui.sessionsBlock.append(ui.sessionsEmpty);
    ui.sessionsMessage = h("p", { className: "program-note", role: "status", hidden: true });
    ui.sessionsBlock.append(ui.sessionsMessage);

    ui.checkinMessage = h("p", { className: "program-note", role: "status", hidden: true });
    ui.checkin = h("div", { className: "program-block" },
      h("h3", {}, "A quick check-in"),
      this.readinessControl("self-readiness", "How ready do you feel?", "Send",
        async (value, button) => {
          await this.act(button, ui.checkinMessage,
            () => this.api("POST", `${this.base}/checkins`, { readiness: Number(value) }),
            "Thank you. Only the clinician sees this.");
        }, ui.checkinMessage),
      ui.checkinMessage);

    ui.stop = h("div", { className: "program-block" });
    this.section.append(ui.state, ui.next, ui.sessionsBlock, ui.checkin, ui.stop);
  }

  renderPartner(p, sessions) {
    const ui = this.ui;
    const client = this.info?.client?.name || "your partner";
    const words = {
      consented: "You've said yes to trying couples sessions. Thank you for being here.",
      requested: "You've asked to keep joining couples sessions. The clinician will let you know.",
      approved: "You're welcome to join couples sessions.",
      active: "You're welcome to join couples sessions.",
      paused: "Couples sessions are paused for now.",
      withdrawn: "You've stopped taking part in couples sessions. Thank you for the time you gave.",
      revoked: "Couples sessions are closed for now. If you have questions, the program can help.",
    };
    ui.state.textContent = words[p.state] ?? "Thank you for being here.";

    // Asking to continue.
    const nextKey = p.state;
    if (ui.next.dataset.sig !== nextKey) {
      ui.next.dataset.sig = nextKey;
      keepFocus(ui.next, ui.state);
      if (p.state === "consented") {
        const message = h("p", { className: "program-note", role: "status", hidden: true });
        const ask = h("button", { type: "button", className: "primary" }, "I'd like to continue");
        ask.addEventListener("click", () => this.act(ask, message, () => this.step("request"),
          "Thank you. The clinician will decide with you."));
        ui.next.replaceChildren(
          h("p", { className: "quiet" },
            "If you'd like to keep joining couples sessions after your trial, you can ask. " +
            "There's no need to decide now."),
          h("div", { className: "actions" }, ask), message);
        ui.next.hidden = false;
      } else {
        ui.next.replaceChildren();
        ui.next.hidden = true;
      }
    }

    // Other couples sessions, once approved.
    const open = Array.isArray(sessions)
      ? sessions.filter((s) => s.kind === "couples" && s.status !== "ended" && s.id !== this.room.id)
      : null;
    ui.sessionsBlock.hidden = open === null;
    if (open) {
      reconcile(ui.sessions, open, (s) => s.id, (s) => this.sessionItem(s));
      ui.sessionsEmpty.hidden = open.length > 0;
    }

    ui.checkin.hidden = !["consented", "requested", "approved", "active", "paused"].includes(p.state);

    // Stopping.
    const canStop = ["consented", "requested", "approved", "active", "paused"].includes(p.state);
    const stopKey = `${canStop}:${this.confirmingStop}`;
    if (ui.stop.dataset.sig !== stopKey) {
      ui.stop.dataset.sig = stopKey;
      keepFocus(ui.stop, ui.state);
      ui.stop.hidden = !canStop;
      if (canStop) this.renderStop(client);
    }
  }

  renderStop(client) {
    const ui = this.ui;
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    if (!this.confirmingStop) {
      const stop = h("button", { type: "button" }, "Stop taking part");
      stop.addEventListener("click", () => {
        this.confirmingStop = true;
        ui.stop.dataset.sig = "true:true";
        this.renderStop(client);
        ui.stop.querySelector("button")?.focus();
      });
      ui.stop.replaceChildren(h("div", { className: "actions" }, stop), message);
      return;
    }
    const line = h("p", { id: "stop-confirm" },
      `This ends your part in couples sessions now, including this one. ${cap(client)}'s own program goes on the same.`);
    const yes = h("button", { type: "button", className: "danger", "aria-describedby": "stop-confirm" },
      "Yes, stop taking part");
    const cancel = h("button", { type: "button" }, "Cancel");
    yes.addEventListener("click", async () => {
      cancel.disabled = true;
      const answer = await this.act(yes, message, () => this.step("withdraw"));
      if (!answer.ok) cancel.disabled = false;
      else this.confirmingStop = false;
    });
    cancel.addEventListener("click", () => {
      this.confirmingStop = false;
      ui.stop.dataset.sig = "true:false";
      this.renderStop(client);
      ui.stop.querySelector("button")?.focus();
    });
    ui.stop.replaceChildren(line, h("div", { className: "actions" }, yes, cancel), message);
  }

  sessionItem(s) {
    const label = s.scheduled && s.startsAt ? `${s.id} · ${when(s.startsAt)}` : s.id;
    const join = h("button", { type: "button", className: "primary" }, `Join ${s.id}`);
    join.addEventListener("click", async () => {
      const answer = await this.act(join, this.ui.sessionsMessage,
        () => this.api("POST", `${this.base}/partner/session-token`, { room: s.id }));
      if (!answer.ok) return;
      join.disabled = true;
      note(this.ui.sessionsMessage, `Opening ${s.id}…`);
      this.stop();
      if (this.leave) {
        // Leave this room properly first, so no one sees a frozen "reconnecting" tile.
        await Promise.race([this.leave().catch(() => {}), sleep(3000)]);
      }
      // The room page reads its token from the fragment and takes it out of the URL again.
      history.replaceState(null, "", `/room#${encodeURIComponent(answer.data.token)}`);
      location.reload();
    });
    return h("li", { className: "person" }, h("p", { className: "person-text" }, label),
      h("div", { className: "actions" }, join));
  }

  // --- shared -------------------------------------------------------------------------------

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

// --- DOM helpers ------------------------------------------------------------------------------


/** A titled sub-block of the panel. */
function block(title, ...children) {
  return h("div", { className: "program-block" }, h("h3", {}, title), ...children);
}

/**
 * Keeps `list` in step with `items` (`patch` in dom.js: only changed items are rebuilt, typing
 * and focus are kept); focus that had nowhere to stay goes to the block's heading.
 */
function reconcile(list, items, keyOf, build) {
  const heading = list.closest(".program-block")?.querySelector("h3") ?? null;
  patch(list, items.map((item) => [keyOf(item), item, () => build(item)]), heading);
}

function when(seconds) {
  if (typeof seconds !== "number") return "";
  const date = new Date(seconds * 1000);
  const today = new Date();
  const time = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  if (date.toDateString() === today.toDateString()) return `today ${time}`;
  return `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

function cap(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
