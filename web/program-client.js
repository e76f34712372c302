// The client's program panel: agreeing that the partner may be invited, what the partner chose
// to share, asking for couples sessions, and pausing or resuming the partner's access. The
// shared loading and acting are in program-base.js; the words are `program.client.*`.
//
// Caveat: the client learns only what the partner shared (`p.shared`); the words below never
// say more than that, so the page cannot tell apart what the server does not.

import { h } from "./dom.js";
import { t } from "./i18n.js";
import { ProgramPanel } from "./program-base.js";

/** What the client may learn: only what the partner chose to share. */
const SHARED_FOR_CLIENT = ["consented", "requested", "deferred", "declined", "withdrawn"];

export class ClientPanel extends ProgramPanel {
  constructor(options) {
    super(options);
    this.asked = false; // asked for couples sessions from this page
  }

  get heading() {
    return t("program.client.heading");
  }

  buildRole() {
    const ui = this.ui;
    ui.intro = h("p", { className: "quiet" }, t("program.client.intro"));
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
      ui.agreement.replaceChildren(h("p", {}, t("program.client.agreed")));
    } else {
      const agree = h("button", { type: "button", className: "primary" }, t("program.client.agree"));
      const message = h("p", { className: "program-note", role: "status", hidden: true });
      agree.addEventListener("click", () => this.act(agree, message, () => this.step("agree"),
        t("program.client.agreeDone")));
      ui.agreement.replaceChildren(
        h("p", {}, t("program.client.agreeIntro")),
        h("div", { className: "actions" }, agree), message);
    }

    let status;
    if (p.paused) status = t("program.client.paused");
    else if (p.couplesSessions) status = t("program.client.open");
    else if (p.shared && SHARED_FOR_CLIENT.includes(p.shared)) status = t(`program.client.shared.${p.shared}`);
    else if (p.clientAgreed) status = t("program.client.nothingShared");
    else status = "";
    ui.status.textContent = status;
    ui.status.hidden = !status;

    const buttons = [];
    if (p.paused) {
      const resume = h("button", { type: "button" }, t("program.client.resume"));
      resume.addEventListener("click", () => this.act(resume, ui.message, () => this.step("resume"),
        t("program.client.resumeDone")));
      buttons.push(resume);
    } else if (p.clientAgreed) {
      if (p.shared === "consented" && !p.couplesSessions && !(this.asked || p.requested)) {
        const ask = h("button", { type: "button", className: "primary" }, t("program.client.ask"));
        ask.addEventListener("click", () => this.act(ask, ui.message, async () => {
          const answer = await this.step("request");
          if (answer.ok) this.asked = true;
          return answer;
        }, t("program.client.askDone")));
        buttons.push(ask);
      }
      const pause = h("button", { type: "button" }, t("program.client.pause"));
      pause.addEventListener("click", () => this.act(pause, ui.message, () => this.step("pause"),
        t("program.client.pauseDone")));
      buttons.push(pause);
    }
    ui.actions.replaceChildren(...buttons);
    ui.actions.hidden = buttons.length === 0;
    const again = buttons.find((b) => b.textContent === focusedVerb);
    if (again) again.focus();
  }
}
