// A question the person must answer before an action that cannot be undone ("End session"):
// a native modal <dialog>, labelled by its title and described by its text.
//
//   import { confirmAction } from "./confirm.js";
//   if (await confirmAction({ title, text, confirm, cancel })) await room.end();
//
// Focus starts on the safe choice (cancel), so Enter or Space on a stray keypress does nothing
// harmful; Escape cancels; the page behind is inert while it is open (showModal), and the browser
// gives focus back to the button that opened it. Any answer other than the confirm button (Escape,
// Cancel, the dialog closed some other way) counts as "no". Nothing is stored.

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
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, text, confirm, cancel, danger = true }) {
  const ui = build();
  if (ui.dialog.open) return Promise.resolve(false);
  ui.title.textContent = title;
  ui.text.textContent = text;
  ui.yes.textContent = confirm;
  ui.yes.className = danger ? "danger" : "primary";
  ui.no.textContent = cancel;
  ui.dialog.returnValue = "";
  return new Promise((resolve) => {
    ui.dialog.addEventListener("close", () => resolve(ui.dialog.returnValue === "confirm"), { once: true });
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

/**
 * "End this session for everyone?": the question the clinician's `End session` asks first.
 * Words from the catalogue (`layout.end.*`).
 *
 * @returns {Promise<boolean>}
 */
export function confirmEndSession() {
  return confirmAction({
    title: t("layout.end.title"),
    text: t("layout.end.text"),
    confirm: t("layout.end.confirm"),
    cancel: t("layout.end.cancel"),
  });
}
