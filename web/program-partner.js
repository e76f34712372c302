// The partner's program panel: where they stand, asking to continue once a trial session has
// been attended (never during the first one), other couples sessions to join once approved, a
// readiness check-in, and stopping (confirmed first). The shared loading and acting are in
// program-base.js; the words are `program.partner.*` in the catalogue.
//
// Caveat: joining another session reloads the page with that session's token, after leaving
// this room (or three seconds, whichever is first); nothing of this panel survives it.

import { h, keepFocus, note } from "./dom.js";
import { t } from "./i18n.js";
import { ProgramPanel, reconcile, when } from "./program-base.js";

/** The states in which the partner may check in and may stop taking part. */
const TAKING_PART = ["consented", "requested", "approved", "active", "paused"];

export class PartnerPanel extends ProgramPanel {
  constructor(options) {
    super(options);
    this.confirmingStop = false;
  }

  get heading() {
    return t("program.partner.heading");
  }

  buildRole() {
    const ui = this.ui;
    ui.state = h("p", {});
    ui.next = h("div", { className: "program-block" });
    ui.sessions = h("ul", { className: "people program-list" });
    ui.sessionsBlock = h("div", { className: "program-block", hidden: true },
      h("h3", {}, t("program.partner.sessions")), ui.sessions);
    ui.sessionsEmpty = h("p", { className: "quiet" }, t("program.partner.noSessions"));
    ui.sessionsBlock.append(ui.sessionsEmpty);
    ui.sessionsMessage = h("p", { className: "program-note", role: "status", hidden: true });
    ui.sessionsBlock.append(ui.sessionsMessage);

    ui.checkinMessage = h("p", { className: "program-note", role: "status", hidden: true });
    ui.checkin = h("div", { className: "program-block" },
      h("h3", {}, t("program.partner.checkin")),
      this.readinessControl("self-readiness", t("program.partner.howReady"), t("program.partner.send"),
        async (value, button) => {
          await this.act(button, ui.checkinMessage,
            () => this.api("POST", `${this.base}/checkins`, { readiness: Number(value) }),
            t("program.partner.checkinDone"));
        }, ui.checkinMessage),
      ui.checkinMessage);

    ui.stop = h("div", { className: "program-block" });
    this.section.append(ui.state, ui.next, ui.sessionsBlock, ui.checkin, ui.stop);
  }

  async loadRole(partner) {
    let sessions = null;
    // Other sessions are not in the event (they are the program's, not the partner's record):
    // read once each time the view changes while approved.
    if (["approved", "active"].includes(partner.state)) {
      const answer = await this.api("GET", `${this.base}/sessions`);
      sessions = answer.ok ? answer.data : [];
    }
    this.renderPartner(partner, sessions);
  }

  renderPartner(p, sessions) {
    const ui = this.ui;
    const client = this.info?.client?.name || t("program.partner.yourPartner");
    const known = ["consented", "requested", "approved", "active", "paused", "withdrawn", "revoked"];
    ui.state.textContent = t(known.includes(p.state) ? `program.partner.state.${p.state}`
      : "program.partner.state.other");

    // Asking to continue: only once a trial session has been attended, never during the first.
    const canAsk = p.state === "consented" && this.trialAttended(p);
    const nextKey = `${p.state}:${canAsk}`;
    if (ui.next.dataset.sig !== nextKey) {
      ui.next.dataset.sig = nextKey;
      keepFocus(ui.next, ui.state);
      if (canAsk) {
        const message = h("p", { className: "program-note", role: "status", hidden: true });
        const ask = h("button", { type: "button" }, t("program.partner.continue"));
        ask.addEventListener("click", () => this.act(ask, message, () => this.step("request"),
          t("program.partner.continueDone")));
        ui.next.replaceChildren(
          h("p", { className: "quiet" }, t("program.partner.continueIntro")),
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

    ui.checkin.hidden = !TAKING_PART.includes(p.state);

    // Stopping.
    const canStop = TAKING_PART.includes(p.state);
    const stopKey = `${canStop}:${this.confirmingStop}`;
    if (ui.stop.dataset.sig !== stopKey) {
      ui.stop.dataset.sig = stopKey;
      keepFocus(ui.stop, ui.state);
      ui.stop.hidden = !canStop;
      if (canStop) this.renderStop(client);
    }
  }

  /**
   * Whether a trial session is behind the partner: `trialsAttended` counts admissions, so
   * during the first one it is already 1. One counted session is behind them once they are
   * not in it (waiting for another, or it ended); two always mean one is.
   */
  trialAttended(p) {
    const attended = Number(p.trialsAttended) || 0;
    if (attended >= 2) return true;
    if (attended < 1) return false;
    return this.ended || this.room?.you?.state !== "admitted";
  }

  renderStop(client) {
    const ui = this.ui;
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    if (!this.confirmingStop) {
      const stop = h("button", { type: "button" }, t("program.partner.stop"));
      stop.addEventListener("click", () => {
        this.confirmingStop = true;
        ui.stop.dataset.sig = "true:true";
        this.renderStop(client);
        ui.stop.querySelector("button")?.focus();
      });
      ui.stop.replaceChildren(h("div", { className: "actions" }, stop), message);
      return;
    }
    const line = h("p", { id: "stop-confirm" }, t("program.partner.stopConfirm", { client: cap(client) }));
    const yes = h("button", { type: "button", className: "danger", "aria-describedby": "stop-confirm" },
      t("program.partner.stopYes"));
    const cancel = h("button", { type: "button" }, t("program.partner.cancel"));
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
    const join = h("button", { type: "button", className: "primary" }, t("program.partner.join", { session: s.id }));
    join.addEventListener("click", async () => {
      const answer = await this.act(join, this.ui.sessionsMessage,
        () => this.api("POST", `${this.base}/partner/session-token`, { room: s.id }));
      if (!answer.ok) return;
      join.disabled = true;
      note(this.ui.sessionsMessage, t("program.partner.opening", { session: s.id }));
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
}

function cap(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
