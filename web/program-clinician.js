// The clinician's program panel: the partner's status and history, requests to continue
// (approve or decline, with a note), trial invite links (made here, shown once, revoked here)
// and readiness check-ins. The shared loading and acting are in program-base.js.
//
// Caveat: an invite link is shown once, in memory; it is gone with the page, by design.

import { h, note, replaceIfChanged } from "./dom.js";
import { ProgramPanel, reconcile, when } from "./program-base.js";

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

export class ClinicianPanel extends ProgramPanel {
  get heading() {
    return "Partner and couples sessions";
  }

  buildRole() {
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

  infoLoaded() {
    this.renderInviteMaker(); // now with maxTrials
  }

  kindChanged() {
    this.renderInviteMaker();
  }

  async loadRole(partner) {
    const approvals = await this.api("GET", `${this.base}/approvals`);
    this.renderClinician(partner, approvals.ok ? approvals.data : null);
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
}

/** A titled sub-block of the panel. */
function block(title, ...children) {
  return h("div", { className: "program-block" }, h("h3", {}, title), ...children);
}
