// The clinician's other links in the program panel (program-clinician.js mounts them): the
// partner's link to a partners-and-family group (docs/partner-lifecycle.md "The other door")
// and a family member's link to a family session (docs/groups.md "Family sessions"), each
// made here, shown once with a Copy button, and listed with how far it went. The words are
// `program.clinician.*`.
//
// Caveat: neither kind of link changes anything the `program` event carries, so each block
// reads its own list again after every action and whenever the panel draws the partner.
// Both lists are clinicians' only: the server answers them to nobody else.

import { h, note, replaceIfChanged } from "./dom.js";
import { t } from "./i18n.js";
import { reconcile, when } from "./program-base.js";

/** Partner states from which the other door opens (server/domain/partner_group.py). */
const OTHER_DOOR = new Set(["deferred", "declined"]);
const GROUP_STATUS = ["invited", "accepted", "attended"];
const FAMILY_STATUS = ["open", "opened", "attended", "withdrawn", "expired"];

const c = (key, params) => t(`program.clinician.${key}`, params);

/**
 * A link shown once in `where`: a read-only field, a Copy button and a note. `id` names the
 * field; `linkId` is kept on `where` so that a later list can take the link away.
 */
export function showLinkOnce(where, { id, linkId, url, label, after }) {
  const href = new URL(url, location.origin).href;
  const input = h("input", { id, type: "text", readOnly: true, value: href, autocomplete: "off" });
  input.addEventListener("focus", () => input.select());
  const copied = h("p", { className: "program-note", role: "status", hidden: true });
  const copy = h("button", { type: "button" }, c("copy"));
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      note(copied, c("copied"));
    } catch {
      input.focus();
      input.select();
      note(copied, c("copyFailed"));
    }
  });
  where.dataset.invite = linkId;
  where.replaceChildren(
    h("div", { className: "field" }, h("label", { htmlFor: id }, label), input),
    h("div", { className: "actions" }, copy),
    copied,
    h("p", { className: "plain-note" }, after),
  );
  where.hidden = false;
}

export function clearLink(where) {
  delete where.dataset.invite;
  where.replaceChildren();
  where.hidden = true;
}

/** The partner's link to a partners-and-family group, after not now or a decline. */
export class PartnersGroupBlock {
  constructor(panel) {
    this.panel = panel;
    this.summary = h("p", { className: "quiet" }, c("partnersGroupNone"));
    this.maker = h("div", { className: "invite-maker" });
    this.result = h("div", { className: "invite-result", hidden: true });
    this.list = h("ul", { className: "people program-list" });
    this.element = h("div", { className: "program-block" }, h("h3", {}, c("partnersGroup")),
      this.summary, this.maker, this.result, this.list);
    this.element.dataset.block = "partners-group";
    this.state = null;
    this.rooms = null;
  }

  /** Draws the block for the partner's `state`, reading the rooms and invitations again. */
  async load(state) {
    const api = (path) => this.panel.api("GET", `${this.panel.base}${path}`);
    const [invites, rooms] = await Promise.all([api("/partner/group-invites"),
      OTHER_DOOR.has(state) ? api("/partner/group-rooms") : null]);
    if (invites.ok && Array.isArray(invites.data)) this.renderList(invites.data);
    const offered = rooms?.ok && Array.isArray(rooms.data) ? rooms.data : [];
    if (this.state !== state || JSON.stringify(offered) !== JSON.stringify(this.rooms)) {
      this.state = state;
      this.rooms = offered;
      this.renderMaker();
    }
  }

  renderMaker() {
    if (!OTHER_DOOR.has(this.state)) {
      this.maker.replaceChildren(h("p", { className: "quiet" }, c("partnersGroupWhen")));
      clearLink(this.result);
      return;
    }
    if (this.rooms.length === 0) {
      this.maker.replaceChildren(h("p", { className: "quiet" }, c("partnersGroupNoRooms")));
      return;
    }
    const select = h("select", { id: "partners-group-room" },
      ...this.rooms.map((r) => h("option", { value: r.id },
        r.startsAt ? c("partnersGroupRoom", { session: r.id, when: when(r.startsAt) }) : r.id)));
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary" }, c("partnersGroupCreate"));
    button.addEventListener("click", () => this.panel.act(button, message, async () => {
      const answer = await this.panel.api("POST", `${this.panel.base}/partner/group-invites`,
        { room: select.value });
      if (answer.ok) {
        showLinkOnce(this.result, { id: "partners-group-link", linkId: answer.data.id,
          url: answer.data.url, label: c("partnersGroupLink"),
          after: c("partnersGroupSend", { when: when(answer.data.expiresAt) }) });
      } else {
        clearLink(this.result);
      }
      await this.load(this.state);
      return answer;
    }));
    this.maker.replaceChildren(
      h("p", { className: "quiet" }, c("partnersGroupIntro")),
      h("div", { className: "field" },
        h("label", { htmlFor: "partners-group-room" }, c("partnersGroupChoose")), select),
      h("div", { className: "actions" }, button),
      message);
  }

  /** The count line, then each invitation with its status. */
  renderList(list) {
    const count = (status) => list.filter((i) => i.status === status).length;
    const attended = count("attended");
    const accepted = count("accepted") + attended;
    this.summary.textContent = list.length === 0
      ? c("partnersGroupNone")
      : c("partnersGroupCounts", { invited: list.length, accepted, attended });
    const items = [...list].sort((a, b) => b.createdAt - a.createdAt);
    replaceIfChanged(this.list, items, () => items.map((i) => h("li", { className: "person" },
      h("p", { className: "person-text" }, h("strong", {}, i.room),
        ` · ${c("made", { when: when(i.createdAt) })}`,
        h("span", { className: "since", "data-group-status": i.status },
          GROUP_STATUS.includes(i.status) ? c(`partnersGroupStatus.${i.status}`) : i.status)))));
  }
}

/** A family member's link to the family session this page is in; every family link listed. */
export class FamilyLinksBlock {
  constructor(panel) {
    this.panel = panel;
    this.maker = h("div", { className: "invite-maker" });
    this.result = h("div", { className: "invite-result", hidden: true });
    this.list = h("ul", { className: "people program-list" });
    this.empty = h("p", { className: "quiet" }, c("familyNoLinks"));
    this.message = h("p", { className: "program-note", role: "status", hidden: true });
    this.element = h("div", { className: "program-block" }, h("h3", {}, c("family")),
      this.maker, this.result, h("h4", {}, c("linksMade")), this.empty, this.list, this.message);
    this.element.dataset.block = "family-links";
    this.renderMaker();
  }

  /** The room changed: in a family session, someone knocking or admitted may be a link's
   *  family member (opened, attended), so the list is read again when the people change. */
  roomChanged(room) {
    if (room.kind !== "family") return;
    const people = [...(room.lobby ?? []).map((p) => `waiting:${p.id}`),
      ...(room.participants ?? []).map((p) => `in:${p.id}`)].sort().join(" ");
    if (people === this.people) return;
    this.people = people;
    this.load();
  }

  async load() {
    const answer = await this.panel.api("GET", `${this.panel.base}/family-invites`);
    if (answer.ok && Array.isArray(answer.data)) this.renderList(answer.data);
  }

  renderMaker() {
    const room = this.panel.room;
    if (room.kind !== "family") {
      this.maker.replaceChildren(h("p", { className: "quiet" }, c("familyFromRoom")));
      clearLink(this.result);
      return;
    }
    const name = h("input", { id: "family-name", type: "text", maxLength: 80, autocomplete: "off",
      "aria-describedby": "family-name-hint" });
    const message = h("p", { className: "program-note", role: "status", hidden: true });
    const button = h("button", { type: "button", className: "primary" }, c("familyCreate"));
    button.addEventListener("click", () => this.panel.act(button, message, async () => {
      const first = name.value.trim();
      const answer = await this.panel.api("POST", `${this.panel.base}/family-invites`,
        { room: room.id, ...(first ? { name: first } : {}) });
      if (answer.ok) {
        name.value = "";
        showLinkOnce(this.result, { id: "family-link", linkId: answer.data.id,
          url: answer.data.url, label: c("familyLink"),
          after: c("familySend", { when: when(answer.data.expiresAt) }) });
      } else {
        clearLink(this.result);
      }
      await this.load();
      return answer;
    }));
    this.maker.replaceChildren(
      h("p", { className: "quiet" }, c("familyIntro", { session: room.id })),
      h("div", { className: "field" },
        h("label", { htmlFor: "family-name" }, c("familyName"), " ",
          h("span", { className: "optional" }, c("optional"))),
        name, h("p", { className: "hint", id: "family-name-hint" }, c("familyNameHint"))),
      h("div", { className: "actions" }, button),
      message);
  }

  renderList(list) {
    // The link shown once stays only while it still opens something.
    const shown = list.find((i) => i.id === this.result.dataset.invite);
    if (shown && shown.status !== "open") clearLink(this.result);
    reconcile(this.list, list, (i) => `${i.id}:${i.status}`, (i) => this.item(i));
    this.empty.hidden = list.length > 0;
  }

  item(i) {
    const id = `family-${i.id}`;
    const text = h("p", { className: "person-text", id: `${id}-text` },
      h("strong", {}, i.name || c("familyNoName")),
      ` · ${i.room} · ${c("made", { when: when(i.createdAt) })}`,
      h("span", { className: "since", "data-family-status": i.status },
        FAMILY_STATUS.includes(i.status)
          ? c(`familyStatus.${i.status}`, { until: when(i.expiresAt), when: when(i.openedAt) })
          : i.status));
    const item = h("li", { className: "person", "aria-labelledby": `${id}-text` }, text);
    if (i.status === "open") {
      const message = h("p", { className: "program-note", role: "status", hidden: true });
      const withdraw = h("button", { type: "button", className: "danger" }, c("familyWithdraw"));
      withdraw.addEventListener("click", async () => {
        note(this.message, "");
        const answer = await this.panel.act(withdraw, message, () => this.panel.api("DELETE",
          `${this.panel.base}/family-invites/${encodeURIComponent(i.id)}`));
        if (answer.ok) note(this.message, c("familyWithdrawn"));
        await this.load();
      });
      item.append(h("div", { className: "actions" }, withdraw), message);
    }
    return item;
  }
}
