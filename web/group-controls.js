// The clinician's control strip of a group session (docs/groups.md, protocol.md §4 "Group
// controls"): mute all, focus mode, breakouts in pairs (web/group-pairs.js: the pairs in the
// listed order or made by hand, visiting a breakout and leaving it), and per member mute, ask
// to unmute, video off, spotlight and allow video. Every button sends one `group.*` event; the
// server decides and enforces it at the media server, and this strip only redraws from the
// `group` part of the clinician's snapshot. Members see no strip (their snapshot says nothing
// of the others anyway).
//
//   import { mountGroupControls } from "./group-controls.js";
//   mountGroupControls({ room, you: answer.you, snapshot: answer.room }); // after a join
//
// Caveat: the strip is drawn again on each snapshot; what only the page holds (the pairs made
// by hand, whether their selectors are open) is kept by group-pairs.js across redraws.

import { h } from "./dom.js";
import { markSpotlight } from "./group-member.js";
import { pairsPart } from "./group-pairs.js";
import { errorText, t } from "./i18n.js";

/** @type {HTMLElement | null} */
let strip = null;

/**
 * Mounts the strip for a clinician in a group room (nothing for anyone else, or twice).
 *
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {{id: string, role: string}} options.you
 * @param {object} options.snapshot
 */
export function mountGroupControls({ room, you, snapshot }) {
  if (snapshot?.media !== "sfu" || you?.role !== "clinician" || strip) return;
  strip = h("section", { className: "group-controls", "aria-label": t("group.controls.title") });
  const status = h("p", { className: "group-controls-status", role: "status" });
  let last = snapshot;
  const send = async (event, payload) => {
    // The answer's snapshot (the server sends the actor no `room` event for their own
    // change) is emitted by the SDK as `room`: the strip and the page's tiles follow it.
    const answer = await room.request(event, payload);
    status.textContent = answer.ok ? "" : errorText(answer.error.code, answer.error.message);
  };
  const pairs = pairsPart({ send, redraw: () => draw(last), say: (text) => { status.textContent = text; } });
  const draw = (snap) => {
    const g = snap?.group;
    if (!strip || !g) return;
    last = snap;
    const members = [...(snap.participants ?? []), ...(snap.away ?? [])]
      .filter((p) => p.role === "client");
    // Each button and selector has a slot ("audio:<id>", "focus", "pair:<id>"...) that survives
    // a redraw, so the keyboard focus stays on it when its label changes (Mute → Ask … to unmute).
    const focused = /** @type {HTMLElement | null} */ (strip.querySelector("[data-slot]:focus"))?.dataset.slot;
    const button = (label, event, payload, pressed, slot = event) =>
      h("button", { type: "button", "aria-pressed": pressed === undefined ? undefined : String(pressed),
        "data-slot": slot, onclick: () => send(event, payload) }, label);
    const names = new Map(members.map((m) => [m.id, m.name]));
    const breakouts = pairs.draw(g, members.map((m) => m.id), names);
    const top = h("div", { className: "group-controls-all" },
      button(t("group.controls.muteAll"), "group.mute", { all: true }, undefined, "muteAll"),
      button(t("group.controls.focus"), "group.focus", { on: !g.focus }, g.focus),
      breakouts.button);
    const rows = members.map((m) => {
      const muted = g.muted.includes(m.id);
      const videoOff = g.videoOff.includes(m.id);
      const allowed = g.videoAllowed.includes(m.id);
      return h("li", {},
        h("span", { className: "group-controls-name" }, m.name),
        muted
          ? button(t("group.controls.askUnmute", { name: m.name }), "group.ask-unmute",
            { participant: m.id }, undefined, `audio:${m.id}`)
          : button(t("group.controls.mute", { name: m.name }), "group.mute", { participant: m.id },
            undefined, `audio:${m.id}`),
        button(t(videoOff ? "group.controls.videoOn" : "group.controls.videoOff", { name: m.name }),
          "group.video-off", { participant: m.id, off: !videoOff }, undefined, `video:${m.id}`),
        button(t("group.controls.spotlight", { name: m.name }), "group.spotlight",
          { participant: g.spotlight === m.id ? null : m.id }, g.spotlight === m.id, `spot:${m.id}`),
        g.focus ? button(t("group.controls.allowVideo", { name: m.name }), "group.allow-video",
          { participant: m.id, allowed: !allowed }, allowed, `allow:${m.id}`) : "");
    });
    strip.replaceChildren(h("h2", {}, t("group.controls.title")), top, ...breakouts.blocks,
      h("ul", { className: "group-controls-members" }, ...rows), status);
    setTimeout(() => markSpotlight(g.spotlight, you.id), 0);  // after room.js drew the tiles
    if (focused) {
      /** @type {HTMLElement | null} */ (strip.querySelector(`[data-slot="${CSS.escape(focused)}"]`))?.focus();
    }
  };
  const anchor = document.querySelector("section[data-tools]");
  if (anchor?.parentElement) anchor.parentElement.insertBefore(strip, anchor);
  else document.body.append(strip);
  draw(snapshot);
  room.addEventListener("room", (e) => draw(/** @type {CustomEvent} */ (e).detail));
}
