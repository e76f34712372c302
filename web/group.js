// The session page in a group (a snapshot with `media: "sfu"`): the group agreement before the
// lobby, the tile grid for up to seventeen people, the clinician's "Admit all", and the program
// panel only for the people REST would show it to. room.js mounts it and hands it two moments:
//
//   const group = mountGroup({ room, token, tell });
//   const next = await group.onRefused(code);  // after a refused join: "retry" | "handled" | ""
//   if (!group.render(snapshot)) ...           // on each snapshot: false outside a group
//
// The agreement (docs/groups.md, "The group agreement") is read and accepted over the socket
// (`agreement`, `agreement.accept`) before knocking; the server refuses a member's knock
// without it (E_AGREEMENT_REQUIRED), which is when this module shows it. The name the member
// chooses there is the one the group sees; the server puts it in everyone's snapshots.
//
// Caveat: nothing is stored in the page; after a reload the server still has the acceptance,
// so the knock goes straight through.

import { errorText, locale, t } from "./i18n.js";
import { markSpotlight, mountGroupMember } from "./group-member.js";
import { mountProgramPanel } from "./program.js";

/** The longest alias the server takes (server/domain/group_agreement.py ALIAS_MAX). */
const ALIAS_MAX = 40;
// Control, bidi and zero-width characters, which the server refuses (server/domain/text.py).
// eslint-disable-next-line no-control-regex
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/u;

/** Whether a snapshot is a group's. */
export const isGroup = (snap) => snap?.media === "sfu" || snap?.kind === "group";

/** The columns of the grid for `count` tiles: near-square, four at most (16 others). */
export function gridColumns(count) {
  if (count <= 1) return 1;
  if (count <= 4) return 2;
  if (count <= 9) return 3;
  return 4;
}

/**
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {string} options.token The page's token, for the program panel's REST calls.
 * @param {(message: string, detail: string, canJoin: boolean) => void} options.tell
 *   Says something on the page (its notice) and shows or hides Join.
 */
export function mountGroup({ room, token, tell }) {
  const stage = document.querySelector(".stage");
  const tiles = document.querySelector("[data-tiles]");
  const lobby = document.querySelector("[data-lobby]");
  /** Whether REST would show this person the program panel; null until asked. */
  let programPanel = null;
  let asking = null;
  let last = null;
  /** @type {HTMLElement | null} */
  let admitBox = null;
  // What the clinician's controls mean for this person (group-member.js).
  const notes = mountGroupMember({ room });

  /** After a refused join: shows the agreement when that was the reason. */
  async function onRefused(code) {
    if (code !== "E_AGREEMENT_REQUIRED") return "";
    const read = await room.request("agreement", { locale: locale() });
    if (!read.ok) return "";
    const accepted = await showAgreement(read);
    if (accepted === "left") return "handled";  // room.js says "You've left"
    if (accepted) return "retry";
    tell(t("grouppage.notToday"), t("grouppage.notToday.detail"), true);
    return "handled";
  }

  /** The agreement with its name field; resolves true once accepted, false on "Not today",
   * "left" when the person selects Leave meanwhile. */
  function showAgreement(read) {
    tell(t("grouppage.agreement.intro"), "", false);
    const section = document.createElement("section");
    section.className = "panel group-agreement";
    section.dataset.groupAgreement = "";
    section.setAttribute("aria-labelledby", "group-agreement-title");
    section.lang = read.agreement.locale;
    const heading = document.createElement("h2");
    heading.id = "group-agreement-title";
    heading.tabIndex = -1;
    heading.textContent = read.agreement.title;
    section.append(heading);
    for (const text of read.agreement.paragraphs) {
      const p = document.createElement("p");
      p.textContent = text;
      section.append(p);
    }
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = "group-alias";
    label.textContent = t("grouppage.alias.label");
    const hint = document.createElement("p");
    hint.id = "group-alias-hint";
    hint.className = "quiet";
    hint.textContent = t("grouppage.alias.hint", { max: ALIAS_MAX });
    const input = document.createElement("input");
    input.type = "text";
    input.id = "group-alias";
    input.maxLength = ALIAS_MAX;
    input.autocomplete = "nickname";
    input.value = read.alias ?? "";
    input.setAttribute("aria-describedby", "group-alias-hint group-alias-error");
    const error = document.createElement("p");
    error.id = "group-alias-error";
    error.className = "field-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    field.append(label, hint, input, error);
    // Accept and Not today weigh the same: saying no must be as easy as saying yes.
    const actions = document.createElement("div");
    actions.className = "actions agreement-actions";
    const accept = button(t("grouppage.accept"));
    const notToday = button(t("grouppage.notTodayButton"));
    actions.append(accept, notToday);
    section.append(field, actions);
    stage.before(section);
    heading.focus();

    const problem = (text) => {
      error.textContent = text;
      error.hidden = !text;
      input.setAttribute("aria-invalid", text ? "true" : "false");
    };
    return new Promise((resolve) => {
      const done = (value) => {
        section.remove();
        resolve(value);
      };
      notToday.addEventListener("click", () => done(false));
      document.querySelector("[data-leave]")?.addEventListener("click", () => {
        if (section.isConnected) done("left");
      }, { once: true });
      accept.addEventListener("click", async () => {
        const alias = input.value.normalize("NFC").trim();
        if (!alias || alias.length > ALIAS_MAX || HIDDEN.test(alias)) {
          problem(t("grouppage.alias.invalid", { max: ALIAS_MAX }));
          input.focus();
          return;
        }
        problem("");
        accept.disabled = notToday.disabled = true;
        const answer = await room.request("agreement.accept",
          { version: read.agreement.version, alias });
        accept.disabled = notToday.disabled = false;
        if (answer.ok) return done(true);
        problem(answer.error.code === "E_ALIAS_INVALID"
          ? t("grouppage.alias.invalid", { max: ALIAS_MAX })
          : errorText(answer.error.code, answer.error.message));
      });
    });
  }

  /** On each snapshot while joined; false when the room is not a group (room.js goes on as usual). */
  function render(snap) {
    if (!isGroup(snap)) {
      delete document.body.dataset.roomKind;
      notes.reset();
      return false;
    }
    last = snap;
    document.body.dataset.roomKind = "group";
    const admitted = snap.you?.state === "admitted";
    const count = admitted ? (snap.participants ?? []).length : 0;
    tiles.style.setProperty("--group-columns", String(gridColumns(count)));
    tiles.toggleAttribute("data-many", count > 1);  // a phone shows two columns then
    tiles.style.setProperty("--group-rows", String(Math.max(1, Math.ceil(count / gridColumns(count)))));
    if (snap.you?.role === "clinician") renderAdmitAll(snap.lobby ?? [], admitted);
    followProgramPanel(snap);
    // After room.js has drawn this snapshot's tiles (it calls render() first).
    setTimeout(() => {
      if (last !== snap) return;
      if (!admitted || snap.status === "ended") notes.reset();
      else if (snap.you?.role === "clinician") markSpotlight(snap.group?.spotlight, snap.you.id);
      else notes.follow(snap);
    }, 0);
    return true;
  }

  /** "Admit all", above the lobby's list: everyone waiting, in the order they knocked. */
  function renderAdmitAll(waiting, admitted) {
    if (!admitBox) {
      admitBox = document.createElement("div");
      admitBox.className = "actions admit-all";
      const all = button(t("grouppage.admitAll"), "primary");
      all.dataset.admitAll = "";
      const note = document.createElement("p");
      note.className = "quiet";
      note.setAttribute("role", "status");
      all.addEventListener("click", async () => {
        all.disabled = true;
        const answer = await room.admitAll();
        all.disabled = false;
        note.textContent = answer.ok ? "" : errorText(answer.error.code, answer.error.message);
      });
      admitBox.append(all, note);
      lobby.querySelector("h2").after(admitBox);
    }
    admitBox.hidden = !admitted || waiting.length === 0;
  }

  /** The program panel, only for the program's client or clinicians (others would get a 403). */
  function followProgramPanel(snap) {
    if (programPanel === true) {
      mountProgramPanel({ token, you: snap.you, room: snap, leave: () => room.leave(), live: room });
      return;
    }
    if (programPanel === false || asking) return;
    asking = room.request("agreement", {}).then((answer) => {
      programPanel = Boolean(answer.ok && answer.programPanel);
      if (programPanel && last) followProgramPanel(last);
    }).finally(() => {
      asking = null;
    });
  }

  return { onRefused, render };
}

function button(text, className = "") {
  const b = document.createElement("button");
  b.type = "button";
  if (className) b.className = className;
  b.textContent = text;
  return b;
}
