// The client's program panel: agreeing that the partner may be invited, what the partner chose
// to share, asking for couples sessions, and pausing or resuming the partner's access. The
// shared loading and acting are in program-base.js.
//
// Caveat: the client learns only what the partner shared (`p.shared`); the words below never
// say more than that, so the page cannot tell apart what the server does not.

import { h } from "./dom.js";
import { ProgramPanel } from "./program-base.js";

/** What the client may learn: only what the partner chose to share. */
const SHARED_FOR_CLIENT = {
  consented: "Your partner has said yes to trying a couples session.",
  requested: "Your partner has asked to keep joining couples sessions.",
  deferred: "Your partner has said not now.",
  declined: "Your partner has decided not to take part. Your own program goes on the same.",
  withdrawn: "Your partner has stopped taking part. Your own program goes on the same.",
};

export class ClientPanel extends ProgramPanel {
  constructor(options) {
    super(options);
    this.asked = false; // asked for couples sessions from this page
  }

  get heading() {
    return "Your partner and couples sessions";
  }

  buildRole() {
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

  async loadRole(partner) {
    this.renderClient(partner);
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
}
