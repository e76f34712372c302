// The person's own controls on the session page: Mute / Unmute, Camera off / Camera on, the
// device panel during the session, and their own connection's quality ("Your connection: good").
//
//   import { mountCallControls } from "./controls.js";
//   mountCallControls({ room, camera: () => camera, monitor, devices });
//
// It fills `<div data-call-controls>` and follows the page's phase (`<body data-phase>`, set by
// room.js). The buttons act on the page's own tracks (devices.js); a tool's request to mute
// (the room's `mute` event, applied by precall.js) shows here as "Unmute", and the person can
// always unmute themselves. On a narrow screen the call bar around these controls is pinned to the
// bottom of the screen (style.css); its height is kept in `--call-bar-height` on <body> so the
// page leaves room for it. Nothing is stored. Words come from the catalogue (`layout.controls.*`).

import { t } from "./i18n.js";
import { hasCamera, hasMicrophone, isCameraOff, isMuted, localMedia, setCamera, setMuted } from "./devices.js";

/** Phases in which the person has a camera preview or is in the session. */
const SHOWN_PHASES = new Set(["ready", "joining", "waiting", "in"]);
/** Quality levels with words in the catalogue (`layout.controls.level.<level>`). */
const LEVELS = new Set(["good", "fair", "poor"]);

/**
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {() => MediaStream | null} options.camera
 * @param {EventTarget | null} [options.monitor] precall.js's QualityMonitor (its `verdict` events)
 * @param {{toggle(open?: boolean): boolean, section: HTMLElement} | null} [options.devices]
 */
export function mountCallControls({ room, camera, monitor, devices }) {
  const bar = /** @type {HTMLElement | null} */ (document.querySelector("[data-call-controls]"));
  if (!bar) return;
  bar.classList.add("call-controls");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", t("layout.controls.group"));

  const mute = button(t("layout.controls.mute"));
  mute.dataset.control = "mute";
  const cam = button(t("layout.controls.camera-off"));
  cam.dataset.control = "camera";
  const more = button(t("layout.controls.devices"));
  more.dataset.control = "devices";
  if (devices?.section.id) more.setAttribute("aria-controls", devices.section.id);
  more.setAttribute("aria-expanded", "false");
  const buttons = make("div", { className: "actions" }, mute, cam, more);

  const quality = make("p", { className: "tile-sign own-quality" });
  quality.hidden = true;
  const note = make("p", { className: "call-note" });
  note.setAttribute("role", "status");
  note.hidden = true;
  bar.replaceChildren(buttons, quality, note);

  const localTile = document.querySelector(".tile-local");
  const offNote = make("p", { className: "camera-off-note" }, t("layout.controls.camera-is-off"));
  offNote.setAttribute("aria-hidden", "true");
  offNote.hidden = true;
  localTile?.querySelector("video")?.after(offNote);

  let phase = document.body.dataset.phase ?? "ready";

  function render() {
    const stream = camera();
    bar.hidden = !SHOWN_PHASES.has(phase) || !stream;
    const muted = isMuted(stream);
    mute.textContent = t(muted ? "layout.controls.unmute" : "layout.controls.mute");
    mute.setAttribute("aria-pressed", String(muted));
    mute.hidden = !hasMicrophone(stream);
    const off = isCameraOff(stream);
    cam.textContent = t(off ? "layout.controls.camera-on" : "layout.controls.camera-off");
    cam.setAttribute("aria-pressed", String(off));
    cam.hidden = !hasCamera(stream);
    more.hidden = phase !== "in" || !devices;
    if (more.hidden && devices && more.getAttribute("aria-expanded") === "true") {
      more.setAttribute("aria-expanded", "false");
    }
    localTile?.classList.toggle("camera-off", off && Boolean(stream));
    offNote.hidden = !(off && stream);
    if (phase !== "in") quality.hidden = true;
  }

  mute.addEventListener("click", () => {
    const stream = camera();
    const muted = !isMuted(stream);
    setMuted(stream, muted);
    tell(t(muted ? "layout.controls.muted-note" : "layout.controls.unmuted-note"));
    render();
  });

  cam.addEventListener("click", async () => {
    const stream = camera();
    const turnOn = isCameraOff(stream);
    cam.disabled = true;
    const result = await setCamera(room, stream, turnOn);
    cam.disabled = false;
    if (!result.ok) tell(result.message ?? "");
    else tell(t(turnOn ? "layout.controls.camera-on-note" : "layout.controls.camera-off-note"));
    render();
  });

  more.addEventListener("click", () => {
    if (!devices) return;
    const open = devices.toggle(more.getAttribute("aria-expanded") !== "true");
    more.setAttribute("aria-expanded", String(open));
    // The panel opens in the side panel (desktop) or below the stage (phone): bring it into view.
    if (open) devices.section.scrollIntoView({ block: "nearest", behavior: "smooth" });
  });

  /** @param {string} text */
  function tell(text) {
    note.textContent = text;
    note.hidden = !text;
  }

  monitor?.addEventListener("verdict", (e) => {
    const level = /** @type {CustomEvent} */ (e).detail?.verdict?.level;
    if (phase !== "in" || typeof level !== "string") return;
    const words = LEVELS.has(level) ? t(`layout.controls.level.${level}`) : level;
    const text = t("layout.controls.connection", { level: words });
    if (quality.textContent !== text) quality.textContent = text;
    quality.dataset.quality = level;
    quality.hidden = false;
  });

  // A tool's mute (applied to the track by precall.js, which listens first) shows here.
  room.addEventListener("mute", () => render());
  localMedia.addEventListener("change", render);
  new MutationObserver(() => {
    const next = document.body.dataset.phase ?? "ready";
    if (next === phase) return;
    phase = next;
    if (phase !== "in") tell("");
    render();
  }).observe(document.body, { attributes: true, attributeFilter: ["data-phase"] });
  keepRoomFor(bar.closest("[data-call-bar]"));
  render();
}

/**
 * Keeps the call bar's height in `--call-bar-height` on <body>, for the page's bottom padding
 * while the bar is pinned (narrow screens); 0 when the bar shows nothing.
 *
 * @param {Element | null} callBar
 */
function keepRoomFor(callBar) {
  if (!callBar || typeof ResizeObserver === "undefined") return;
  new ResizeObserver(() => {
    const height = `${Math.ceil(callBar.getBoundingClientRect().height)}px`;
    if (document.body.style.getPropertyValue("--call-bar-height") !== height) {
      document.body.style.setProperty("--call-bar-height", height);
    }
  }).observe(callBar);
}

/** @param {string} text */
function button(text) {
  return make("button", { type: "button" }, text);
}

/**
 * @param {string} tag
 * @param {Record<string, any>} props
 * @param {...(Node|string)} children
 */
function make(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}
