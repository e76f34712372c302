// The clinician's program panel: the partner's status and history, requests to continue
// (approve or decline, with a note), the partner's request to hear again, trial invite links
// (made here, shown once, each listed with its answer, revoked here) and readiness check-ins;
// the partners-and-family group link and family members' links are program-links.js.
// The shared loading and acting are in program-base.js; the words are `program.clinician.*`.
//
// Caveat: an invite link is shown once, in memory; it is gone with the page, by design.

import { h, note, replaceIfChanged } from "./dom.js";
import { t } from "./i18n.js";
import { ProgramPanel, reconcile, when } from "./program-base.js";
import { clearLink, FamilyLinksBlock, PartnersGroupBlock, showLinkOnce } from "./program-links.js";

/** Partner states with words of their own (`program.clinician.state.*`, `.history.*`). */
const STATES = ["not_invited", "invited", "deferred", "declined", "consented", "requested",
  "approved", "active", "paused", "withdrawn", "revoked"];
const HISTORY = [...STATES, "client-agreed", "request-declined", "asked-again"];
const BY = ["clinician", "client", "partner", "system"];

/** A link's state as the clinician reads it: its answer or why it no longer opens. */
function linkState(i) {
  if (i.revoked) return "withdrawn";
  if (i.answer === "consent") return i.used >= i.quota ? "consentedUsed" : "consented";
  if (i.answer === "decline") return "declined";
  if (i.answer === "not-now") return i.expiresAt * 1000 <= Date.now() ? "notNowExpired" : "notNow";
  if (i.used >= i.quota) return "used";
  if (i.expiresAt * 1000 <= Date.now()) return "expired";
  return "open";
}

export class ClinicianPanel extends ProgramPanel {
  get heading() {
    return t("program.clinician.heading");
  }

  buildRole() {
    const ui = this.ui;
    ui.summary = h("dl", { className: "facts" });
    ui.summaryNote = h("p", { className: "quiet" });
    ui.asked = h("p", { className: "program-note", role: "status", hidden: true });

    ui.queueList = h("ul", { className: "people program-list" });
    ui.queueEmpty = h("p", { className: "quiet" }, t("program.clinician.noRequests"));
    ui.queueMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const queue = block(t("program.clinician.requests"), ui.queueEmpty, ui.queueList, ui.queueMessage);

    ui.inviteMaker = h("div", { className: "invite-maker" });
    ui.inviteResult = h("div", { className: "invite-result", hidden: true });
    ui.invitesList = h("ul", { className: "people program-list" });
    ui.invitesEmpty = h("p", { className: "quiet" }, t("program.clinician.noLinks"));
    ui.invitesMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const invites = block(t("program.clinician.links"), ui.inviteMaker, ui.inviteResult,
      h("h4", {}, t("program.clinician.linksMade")), ui.invitesEmpty, ui.invitesList, ui.invitesMessage);

    ui.checkinMessage = h("p", { className: "program-note", role: "status", hidden: true });
    const checkinForm = this.readinessControl("clinician-readiness", t("program.clinician.readinessToday"),
      t("program.clinician.recordCheckin"), async (value, button) => {
        await this.act(button, ui.checkinMessage,
          () => this.api("POST", `${this.base}/checkins`, { readiness: Number(value) }),
          t("program.clinician.checkinDone"));
      }, ui.checkinMessage);
    ui.readinessList = h("ul", { className: "plain-list" });
    ui.readinessEmpty = h("p", { className: "quiet" }, t("program.clinician.noCheckins"));
    const readiness = block(t("program.clinician.checkin"), checkinForm, ui.checkinMessage,
      h("h4", {}, t("program.clinician.readinessHistory")), ui.readinessEmpty, ui.readinessList);

    ui.historyList = h("ol", { className: "plain-list" });
    const history = h("details", { className: "program-block" },
      h("summary", {}, t("program.clinician.history")), ui.historyList);

    // The partner's other door and family members' links: clinicians only (program-links.js).
    this.partnersGroup = new PartnersGroupBlock(this);
    this.familyLinks = new FamilyLinksBlock(this);

    this.section.append(
      block(t("program.clinician.partner"), ui.summary, ui.summaryNote, ui.asked), queue, invites,
      this.partnersGroup.element, this.familyLinks.element, readiness, history);
    this.renderInviteMaker();
  }

  infoLoaded() {
    this.renderInviteMaker(); // now with maxTrials
  }

  roomChanged(room) {
    super.roomChanged(room);
    this.familyLinks.roomChanged(room);
  }

  kindChanged() {
    this.renderInviteMaker();
    this.familyLinks.renderMaker();
  }

  async loadRole(partner, view) {
    // The `program` event carries the queue; a REST read fetches it beside the partner.
    let approvals = Array.isArray(view?.approvals) ? view.approvals : null;
    if (!approvals) {
      const answer = await this.api("GET", `${this.base}/approvals`);
      approvals = answer.ok ? answer.data : null;
      if (approvals && this.last === view) this.last = { ...view, approvals };
    }
    this.renderClinician(partner, approvals);
    // Neither list is in the `program` event (nothing the client reads changes with them).
    await Promise.all([this.partnersGroup.load(partner.state), this.familyLinks.load()]);
  }

  renderInviteMaker() {
    const ui = this.ui;
    if (this.room.kind !== "couples") {
      ui.inviteMaker.replaceChildren(h("p", { className: "quiet" }, t("program.clinician.linksFromCouples")));
      return;
    }
    const max = Math.max(1, Number(this.info?.maxTrials) || 1);
    const select = h("select", { id: "invite-quota" },
      ...Array.from({ length: max }, (_, i) => h("option", { value: String(i + 1) }, String(i + 1))));
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary" }, t("program.clinician.createLink"));
    button.addEventListener("click", () => this.act(button, message, async () => {
      const answer = await this.api("POST", `${this.base}/invites`,
        { room: this.room.id, quota: Number(select.value) });
      if (answer.ok) this.showInviteLink(answer.data);
      // A refused new link (e.g. the cool-down after a decline) must not leave the previous
      // link on screen with its Copy button, as if it were the answer to this click.
      else this.clearInviteLink();
      return answer;
    }));
    ui.inviteMaker.replaceChildren(
      h("p", { className: "quiet" }, t("program.clinician.linkIntro", { session: this.room.id })),
      h("div", { className: "field" },
        h("label", { htmlFor: "invite-quota" }, t("program.clinician.linkQuota")), select),
      h("div", { className: "actions" }, button),
      message,
    );
  }

  clearInviteLink() {
    clearLink(this.ui.inviteResult);
  }

  showInviteLink(invite) {
    showLinkOnce(this.ui.inviteResult, { id: "invite-link", linkId: invite.id, url: invite.url,
      label: t("program.clinician.link"),
      after: t("program.clinician.sendPrivately", { count: invite.quota, when: when(invite.expiresAt) }) });
  }

  renderClinician(p, approvals) {
    const ui = this.ui;
    const c = (key, params) => t(`program.clinician.${key}`, params);
    const facts = [
      [c("fact.name"), p.name || c("partner")],
      [c("fact.status"), STATES.includes(p.state) ? c(`state.${p.state}`) : p.state],
      [c("fact.clientAgreed"), p.clientAgreed ? c("yes") : c("notYet")],
      [c("fact.trials"), String(p.trialsAttended ?? 0)],
    ];
    if (p.consentedAt) {
      facts.push([c("fact.consented"), c("fact.consentedValue", { when: when(p.consentedAt), version: p.consentVersion })]);
    }
    if (p.cooldownUntil && p.cooldownUntil * 1000 > Date.now()) {
      facts.push([c("fact.cooldown"), when(p.cooldownUntil)]);
    }
    if (p.approvalNote) facts.push([c("fact.note"), p.approvalNote]);
    if (p.lastCheckin) {
      facts.push([c("fact.lastCheckin"), c("checkinValue", { readiness: p.lastCheckin.readiness, when: when(p.lastCheckin.at) })]);
    }
    replaceIfChanged(ui.summary, facts, () =>
      facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
    ui.summaryNote.textContent = p.clientAgreed ? "" : c("clientDecides");
    ui.summaryNote.hidden = !ui.summaryNote.textContent;
    note(ui.asked, p.askedAt ? c("askedAgain", { when: when(p.askedAt) }) : "");

    if (approvals) {
      reconcile(ui.queueList, approvals, (r) => r.id, (r) => this.approvalItem(r));
      ui.queueEmpty.hidden = approvals.length > 0;
    }

    const invites = [...(p.invites ?? [])].sort((a, b) => b.createdAt - a.createdAt);
    // The link shown once stays only while it still opens something: once answered or
    // closed, its Copy button would invite sending a link that no longer works as sent.
    const shownId = ui.inviteResult.dataset.invite;
    const shown = invites.find((i) => i.id === shownId);
    if (shownId && shown && linkState(shown) !== "open") this.clearInviteLink();
    reconcile(ui.invitesList, invites.map((i) => ({ ...i, state: linkState(i) })), (i) => i.id,
      (i) => this.inviteItem(i));
    ui.invitesEmpty.hidden = invites.length > 0;

    const checkins = [...(p.checkins ?? [])].reverse().slice(0, 8);
    replaceIfChanged(ui.readinessList, checkins, () => checkins.map((x) => h("li", {},
      c(x.by === "partner" ? "checkinSelf" : "checkinClinician", { readiness: x.readiness, when: when(x.at) }),
      x.note ? h("span", { className: "since" }, x.note) : "")));
    ui.readinessEmpty.hidden = checkins.length > 0;

    const history = [...(p.history ?? [])].reverse();
    replaceIfChanged(ui.historyList, history, () => history.length
      ? history.map((x) => h("li", {}, c("historyLine", {
        what: HISTORY.includes(x.state) ? c(`history.${x.state}`) : x.state,
        by: BY.includes(x.by) ? c(`by.${x.by}`) : x.by, when: when(x.at) })))
      : [h("li", {}, c("nothingYet"))]);
  }

  approvalItem(r) {
    const id = `approval-${r.id}`;
    const c = (key, params) => t(`program.clinician.${key}`, params);
    const context = h("p", { className: "person-text", id: `${id}-context` },
      h("strong", {}, c(r.by === "client" ? "clientAsked" : "partnerAsked")),
      ` ${c("askedFor", { when: when(r.at) })}`,
      h("span", { className: "since" },
        `${c("trialsLine", { count: r.trialsAttended })} ` +
        (r.lastCheckin
          ? c("lastCheckinLine", { readiness: r.lastCheckin.readiness, when: when(r.lastCheckin.at) })
          : c("noCheckinYet"))));
    const textarea = h("textarea", { id: `${id}-note`, rows: 2, maxLength: 1000,
      "aria-describedby": `${id}-hint` });
    textarea.dataset.field = "note";
    const hint = h("p", { className: "hint", id: `${id}-hint` }, c("noteHint"));
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const approve = h("button", { type: "button", className: "primary" }, c("approve"));
    const decline = h("button", { type: "button" }, c("declineRequest"));
    textarea.addEventListener("input", () => {
      if (!textarea.value.trim()) return;
      textarea.removeAttribute("aria-invalid");
      if (message.classList.contains("is-error")) note(message, "");
    });
    const decide = async (step, button) => {
      const text = textarea.value.trim();
      if (!text) {
        textarea.setAttribute("aria-invalid", "true");
        note(message, c("noteFirst"), "error");
        textarea.focus();
        return;
      }
      textarea.removeAttribute("aria-invalid");
      note(this.ui.queueMessage, "");
      const answer = await this.act(button, message, () => this.step(step, { note: text }));
      if (answer.ok) {
        note(this.ui.queueMessage, c(step === "approve" ? "approved" : "declined"));
      }
    };
    approve.addEventListener("click", () => decide("approve", approve));
    decline.addEventListener("click", () => decide("decline-request", decline));
    return h("li", { className: "person", "aria-labelledby": `${id}-context` },
      context,
      h("div", { className: "field" }, h("label", { htmlFor: `${id}-note` }, c("note")), textarea, hint),
      h("div", { className: "actions" }, approve, decline),
      message);
  }

  inviteItem(i) {
    const c = (key, params) => t(`program.clinician.${key}`, params);
    const id = `invite-${i.id}`;
    const text = h("p", { className: "person-text", id: `${id}-text` },
      h("strong", {}, i.room), ` · ${c("made", { when: when(i.createdAt) })}`,
      h("span", { className: "since", "data-link-state": i.state },
        `${c("usedOf", { used: i.used, quota: i.quota })} ` +
        c(`linkState.${i.state}`, { until: when(i.expiresAt), when: when(i.answeredAt) })));
    const item = h("li", { className: "person", "aria-labelledby": `${id}-text` }, text);
    if (!i.revoked) {
      const message = h("p", { className: "program-note", role: "status", hidden: true });
      const revoke = h("button", { type: "button", className: "danger" }, c("revoke"));
      revoke.addEventListener("click", async () => {
        note(this.ui.invitesMessage, "");
        const answer = await this.act(revoke, message,
          () => this.api("DELETE", `${this.base}/invites/${encodeURIComponent(i.id)}`));
        if (answer.ok) note(this.ui.invitesMessage, c("revoked"));
      });
      item.append(h("div", { className: "actions" }, revoke), message);
    }
    return item;
  }
}

/** A titled sub-block of the panel. */
function block(title, ...children) {
  return h("div", { className: "program-block" }, h("h3", {}, title), ...children);
}
