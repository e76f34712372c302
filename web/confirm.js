// A question the person must answer before an action that cannot be undone ("End session"):
// a native modal <dialog>, labelled by its title and described by its text.
//
//   import { confirmAction } from "./confirm.js";
//   if (await confirmAction({ title, text, confirm, cancel })) await room.end();
//
// Focus starts on the safe choice (cancel), so Enter or Space on a stray keypress does nothing
// harmful; Escape cancels; the page behind is inert while it is open (showModal), and the browser
// gives focus back to the button that opened it. Any answer other than the confirm button (Escape,
// Cancel, the dialog closed some other way) counts as "no". A question that events have overtaken
// (`closeOn`: the session ended, or moved to another tab) closes by itself. Nothing is stored.

import { h, uid } from "./dom.js";
import { t } from "./i18n.js";

/** @type {{dialog: HTMLDialogElement, title: HTMLElement, text: HTMLElement, yes: HTMLButtonElement, no: HTMLButtonElement} | null} */
let built = null;

/**
 * Asks; resolves `true` only when the person chose `confirm`. A second call while the dialog is
 * open answers `false` at once (the first question is still on screen).
 *
 * @param {object} question
 * @param {string} question.title   the dialog's heading and accessible name
 * @param {string} question.text    what will happen, in a sentence or two
 * @param {string} question.confirm the button that acts ("End for everyone")
 * @param {string} question.cancel  the safe choice, focused first ("Keep the session open")
 * @param {boolean} [question.danger] whether the confirm button is marked as destructive
 * @param {{target: EventTarget, types: string[]}} [question.closeOn] events that make the question
 *   moot: the dialog closes as a "no"
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, text, confirm, cancel, danger = true, closeOn }) {
  const ui = build();
  if (ui.dialog.open) return Promise.resolve(false);
  ui.title.textContent = title;
  ui.text.textContent = text;
  ui.yes.textContent = confirm;
  ui.yes.className = danger ? "danger" : "primary";
  ui.no.textContent = cancel;
  ui.dialog.returnValue = "";
  const moot = () => ui.dialog.close("");
  return new Promise((resolve) => {
    ui.dialog.addEventListener("close", () => {
      for (const type of closeOn?.types ?? []) closeOn?.target.removeEventListener(type, moot);
      resolve(ui.dialog.returnValue === "confirm");
    }, { once: true });
    for (const type of closeOn?.types ?? []) closeOn?.target.addEventListener(type, moot);
    ui.dialog.showModal();
    ui.no.focus();
  });
}

function build() {
  if (built?.dialog.isConnected) return built;
  const id = uid("confirm");
  const title = h("h2", { id: `${id}-title`, className: "confirm-title" });
  const text = h("p", { id: `${id}-text`, className: "confirm-text" });
  // method=dialog: each button closes the dialog with its value as returnValue; no request is made.
  const no = h("button", { type: "submit", value: "cancel", autofocus: true });
  const yes = h("button", { type: "submit", value: "confirm" });
  const form = h("form", { method: "dialog", className: "confirm-form" },
    title, text, h("div", { className: "actions confirm-actions" }, no, yes));
  const dialog = /** @type {HTMLDialogElement} */ (h("dialog", {
    className: "confirm",
    "aria-labelledby": title.id,
    "aria-describedby": text.id,
  }, form));
  // Escape fires `cancel` and closes with an empty returnValue: a "no", as intended.
  document.body.append(dialog);
  built = { dialog, title, text, yes, no };
  return built;
}

/** What makes "End this session?" moot: the room's SDK events after which this page is out. */
const END_MOOT = ["ended", "removed", "superseded", "sentback"];

/**
 * "End this session for everyone?": the question the clinician's `End session` asks first.
 * Words from the catalogue (`layout.end.*`). Closes by itself (a "no") if the session ends or
 * this page steps aside meanwhile.
 *
 * @param {EventTarget} [room] the page's AlongsideRoom
 * @returns {Promise<boolean>}
 */
export function confirmEndSession(room) {
  return confirmAction({
    title: t("layout.end.title"),
    text: t("layout.end.text"),
    confirm: t("layout.end.confirm"),
    cancel: t("layout.end.cancel"),
    closeOn: room ? { target: room, types: END_MOOT } : undefined,
  });
}
