// The partner's program panel: where they stand, asking to continue after the trial, other
// couples sessions to join once approved, a readiness check-in, and stopping (confirmed first).
// The shared loading and acting are in program-base.js.
//
// Caveat: joining another session reloads the page with that session's token, after leaving
// this room (or three seconds, whichever is first); nothing of this panel survives it.

import { h, keepFocus, note } from "./dom.js";
import { ProgramPanel, reconcile, when } from "./program-base.js";

/** The states in which the partner may check in and may stop taking part. */
const TAKING_PART = ["consented", "requested", "approved", "active", "paused"];

export class PartnerPanel extends ProgramPanel {
  constructor(options) {
    super(options);
    this.confirmingStop = false;
  }

  get heading() {
    return "Your part in couples sessions";
  }

  buildRole() {
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

  async loadRole(partner) {
    let sessions = null;
    if (["approved", "active"].includes(partner.state)) {
      const answer = await this.api("GET", `${this.base}/sessions`);
      sessions = answer.ok ? answer.data : [];
    }
    this.renderPartner(partner, sessions);
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
}

function cap(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
