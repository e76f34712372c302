// The session page's media helpers: the pre-call test in the device check, and, once in the
// session, connection quality (the clinician's "Connection: …" sign on each tile, the offer to
// switch to audio only on a weak link), a tool's request to mute the microphone, and a calm note
// when the TURN server is down. The measuring is in `sdk/quality.js`; this module only shows it.
//
//   import { mountMedia } from "./precall.js";
//   mountMedia({ room, camera: () => camera });
//
// It fills `<section data-precall-test>` (the test; shown until the person is in the session)
// and `<div data-media-notes>` (notes during the session), and follows the page's phase from
// `<body data-phase>`. Nothing is stored.

import { QualityMonitor, runPrecallTest } from "./sdk/quality.js";
import { localMedia, mutedByChoice } from "./devices.js";
import { has, t } from "./i18n.js";

/** A link's level in words ("good", "fair", "poor"), or the level's code if unknown. */
const levelWord = (level) => (has(`devices.level.${level}`) ? t(`devices.level.${level}`) : level);
/** Phases (room.js's `body[data-phase]`) in which the test is offered. */
const TEST_PHASES = new Set(["ready", "joining", "waiting", "left"]);

const el = (selector) => document.querySelector(selector);

/**
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {() => MediaStream | null} options.camera the page's camera and microphone, if on
 * @returns {{monitor: QualityMonitor}}
 */
export function mountMedia({ room, camera }) {
  const section = el("[data-precall-test]");
  const notes = el("[data-media-notes]");
  const tiles = el("[data-tiles]");
  const monitor = new QualityMonitor(room);
  const precall = section ? mountPrecall(section, room, camera) : null;
  const session = notes ? mountSessionNotes(notes, room, camera, monitor) : null;
  if (tiles) mountTileSigns(tiles, room, monitor);
  monitor.start();

  const follow = () => {
    const phase = document.body.dataset.phase ?? "ready";
    precall?.show(TEST_PHASES.has(phase));
    session?.phase(phase);
  };
  new MutationObserver(follow).observe(document.body, { attributes: true, attributeFilter: ["data-phase"] });
  follow();
  // The page's other modules read the same reports (controls.js: "Your connection: …").
  return { monitor };
}

// --- the pre-call test ------------------------------------------------------------------------

/**
 * @param {HTMLElement} section
 * @param {import("./sdk/alongside.js").AlongsideRoom} room
 * @param {() => MediaStream | null} camera
 */
function mountPrecall(section, room, camera) {
  section.classList.add("panel", "precall");
  section.setAttribute("aria-labelledby", "precall-title");
  const title = make("h2", { id: "precall-title" }, t("devices.precall.title"));
  const intro = make("p", { className: "quiet" }, t("devices.precall.intro"));
  const button = make("button", { type: "button" }, t("devices.precall.test"));
  const actions = make("div", { className: "actions" }, button);
  const status = make("p", { className: "precall-status" });
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const figures = make("p", { className: "precall-figures" });
  figures.hidden = true;
  section.replaceChildren(title, intro, actions, status, figures);

  /** @type {AbortController | null} */
  let running = null;
  /** @type {HTMLVideoElement | null} */
  let video = null;

  const dropVideo = () => {
    if (!video) return;
    video.srcObject = null;
    video.remove();
    video = null;
  };

  button.addEventListener("click", async () => {
    if (running) return;
    running = new AbortController();
    button.disabled = true;
    figures.hidden = true;
    status.textContent = t("devices.precall.testing");
    const result = await runPrecallTest(room, {
      stream: camera(),
      signal: running.signal,
      onStream: (stream) => {
        if (!video) {
          // Made only while a test runs: the page's other videos are the session's.
          video = make("video", { className: "precall-video" });
          video.dataset.precall = "";
          video.autoplay = true;
          video.muted = true;
          video.playsInline = true;
          video.setAttribute("aria-label", t("devices.precall.video"));
          status.after(video);
        }
        if (video.srcObject !== stream) video.srcObject = stream;
        video.play().catch(() => {});
      },
    });
    running = null;
    dropVideo();
    button.disabled = false;
    button.textContent = t("devices.precall.again");
    if (result.ok) {
      const level = result.verdict.level;
      // The server's advice is a code (devices.advice.<code>), worded in the page's language.
      const key = `devices.advice.${result.verdict.advice}`;
      const advice = has(key) ? t(key) : t(`devices.advice.${level}`);
      status.textContent = t("devices.precall.result", { level: levelWord(level), advice });
      if (!result.media) status.textContent += ` ${t("devices.precall.networkOnly")}`;
      status.dataset.level = result.verdict.level;
      figures.textContent = describe(result.summary, result.pings);
      figures.hidden = false;
      return;
    }
    delete status.dataset.level;
    status.textContent = precallProblem(result.error.code);
  });

  return {
    /** @param {boolean} on */
    show(on) {
      section.hidden = !on;
      if (!on && running) running.abort();
    },
  };
}

/**
 * @param {import("./sdk/quality.js").Summary} s
 * @param {number} pings
 */
function describe(s, pings) {
  const parts = [
    pings > 0 ? t("devices.precall.rtt", { ms: Math.round(s.rtt) }) : t("devices.precall.rttUnknown"),
    t("devices.precall.loss", { percent: formatPercent(s.loss) }),
    t("devices.precall.jitter", { ms: Math.round(s.jitter) }),
  ];
  if (s.bitrate > 0) parts.push(t("devices.precall.bitrate", { kbits: Math.round(s.bitrate) }));
  return parts.join(" · ");
}

function formatPercent(loss) {
  const pct = loss * 100;
  return `${pct < 1 && pct > 0 ? pct.toFixed(1) : Math.round(pct)} %`;
}

/** The test's refusal in words; a code this page has no words for gets the general one. */
function precallProblem(code) {
  const token = ["E_TOKEN_EXPIRED", "E_TOKEN_INVALID", "E_TOKEN_MISSING"].includes(code);
  const key = token ? "devices.precall.E_TOKEN" : `devices.precall.${code}`;
  return t(has(key) ? key : "devices.precall.failed");
}

// --- during the session ---------------------------------------------------------------------

/**
 * Notes under the page's message: the audio-only offer, microphone muted by a tool, TURN down.
 *
 * @param {HTMLElement} notes
 * @param {import("./sdk/alongside.js").AlongsideRoom} room
 * @param {() => MediaStream | null} camera
 * @param {QualityMonitor} monitor
 */
function mountSessionNotes(notes, room, camera, monitor) {
  notes.classList.add("media-notes");

  const weak = make("div", { className: "media-note" });
  weak.setAttribute("role", "group");
  weak.setAttribute("aria-label", t("devices.note.connection"));
  const weakText = make("p", {});
  weakText.setAttribute("aria-live", "polite");
  const audioOnly = make("button", { type: "button", className: "primary" }, t("devices.note.audioOnly"));
  const keepVideo = make("button", { type: "button" }, t("devices.note.keepVideo"));
  const videoBack = make("button", { type: "button" }, t("devices.note.videoBack"));
  weak.append(weakText, make("div", { className: "actions" }, audioOnly, keepVideo, videoBack));
  weak.hidden = true;

  const mic = make("p", { className: "media-note" });
  mic.setAttribute("role", "status");
  mic.hidden = true;

  const turn = make("p", { className: "media-note" }, t("devices.note.turnDown"));
  turn.setAttribute("role", "status");
  turn.hidden = true;

  notes.replaceChildren(weak, mic, turn);

  let phase = "ready";
  /** Set when the person chose "Keep video"; cleared once the link is no longer poor. */
  let declined = false;

  const showWeak = (mode) => {
    weak.hidden = mode === "none";
    weak.dataset.mode = mode;
    audioOnly.hidden = mode !== "offer";
    keepVideo.hidden = mode !== "offer";
    videoBack.hidden = mode !== "audio-only";
    if (mode === "offer") weakText.textContent = t("devices.note.weak");
    if (mode === "audio-only") weakText.textContent = t("devices.note.onAudioOnly");
  };

  audioOnly.addEventListener("click", () => {
    room.setAudioOnly(true);
    showWeak("audio-only");
    videoBack.focus();
  });
  keepVideo.addEventListener("click", () => {
    declined = true;
    showWeak("none");
  });
  videoBack.addEventListener("click", () => {
    room.setAudioOnly(false);
    declined = false;
    showWeak("none");
  });

  monitor.addEventListener("verdict", (e) => {
    const { verdict } = /** @type {CustomEvent} */ (e).detail;
    if (phase !== "in" || room.audioOnly) return;
    if (!verdict.audioOnly) {
      declined = false;
      if (weak.dataset.mode === "offer") showWeak("none");
      return;
    }
    if (!declined) showWeak("offer");
  });

  /**
   * Whether a tool's mute holds this microphone now. The server unmutes everyone but the
   * clinician whenever a tool stops (and the speaker at every floor change), muted or not: only
   * someone who was actually muted is told that their microphone is on again.
   */
  let toolMuted = false;

  room.addEventListener("mute", (e) => {
    const { muted } = /** @type {CustomEvent} */ (e).detail;
    const tracks = camera()?.getAudioTracks() ?? [];
    // Someone who muted themselves (controls.js) stays muted until they choose otherwise.
    const ownMute = mutedByChoice();
    const wasMuted = toolMuted;
    toolMuted = muted && tracks.length > 0;
    for (const track of tracks) track.enabled = !muted && !ownMute;
    if (!tracks.length || (!muted && !wasMuted)) return;
    mic.textContent = t(muted ? "devices.note.muted" : ownMute ? "devices.note.stillMuted" : "devices.note.unmuted");
    mic.hidden = false;
  });

  // The person unmuted themselves (controls.js): a tool's mute no longer holds, nor its note.
  localMedia.addEventListener("change", () => {
    if ((camera()?.getAudioTracks() ?? []).some((track) => track.enabled)) {
      mic.hidden = true;
      toolMuted = false;
    }
  });

  room.addEventListener("turn", (e) => {
    turn.hidden = /** @type {CustomEvent} */ (e).detail.status !== "down";
  });

  return {
    /** @param {string} next */
    phase(next) {
      phase = next;
      if (next === "in") {
        turn.hidden = room.turn !== "down";
        return;
      }
      // Out of the session: back to sending everything next time, and nothing left on screen.
      if (room.audioOnly) room.setAudioOnly(false);
      declined = false;
      showWeak("none");
      if (next !== "waiting" && next !== "joining") {
        mic.hidden = true;
        toolMuted = false;
        for (const track of camera()?.getAudioTracks() ?? []) track.enabled = !mutedByChoice();
      }
      turn.hidden = !(next === "waiting" && room.turn === "down");
    },
  };
}

/**
 * Signs on each person's tile, in words (any colour only repeats them): for the clinician,
 * "Connection: good / fair / poor" from the server's `quality` reports; for everyone, "Video
 * paused" while no frames arrive from someone still connected (audio only, or camera off), so a
 * frozen picture is not mistaken for a frozen connection.
 *
 * @param {HTMLElement} tiles
 * @param {import("./sdk/alongside.js").AlongsideRoom} room
 * @param {QualityMonitor} monitor
 */
function mountTileSigns(tiles, room, monitor) {
  /** @type {Map<string, string>} */
  const levels = new Map();
  /** @type {Set<string>} */
  const paused = new Set();

  /** @param {HTMLElement} figure */
  const refresh = (figure) => {
    const id = figure.dataset.peer ?? "";
    const level = levels.get(id);
    place(figure, "quality", level ? t("devices.sign.quality", { level: levelWord(level) }) : "", level);
    place(figure, "videoPaused", paused.has(id) ? t("devices.sign.videoPaused") : "");
  };
  const figures = () => /** @type {NodeListOf<HTMLElement>} */ (tiles.querySelectorAll("figure[data-peer]"));
  const refreshPeer = (id) => {
    for (const figure of figures()) if (figure.dataset.peer === id) refresh(figure);
  };

  room.addEventListener("quality", (e) => {
    const { participant, level } = /** @type {CustomEvent} */ (e).detail;
    if (typeof participant !== "string" || typeof level !== "string") return;
    levels.set(participant, level);
    refreshPeer(participant);
  });
  monitor.addEventListener("video", (e) => {
    /** @type {Map<string, boolean>} */
    const peers = /** @type {CustomEvent} */ (e).detail.peers;
    for (const id of [...paused]) {
      if (peers.get(id) !== false) {
        paused.delete(id);
        refreshPeer(id);
      }
    }
    for (const [id, flowing] of peers) {
      if (!flowing && !paused.has(id)) {
        paused.add(id);
        refreshPeer(id);
      }
    }
  });
  room.addEventListener("peerleft", (e) => {
    const id = /** @type {CustomEvent} */ (e).detail.peerId;
    levels.delete(id);
    paused.delete(id);
  });
  // Tiles come and go with the room (room.js makes them); a new one gets its signs at once.
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) if (node instanceof HTMLElement && node.dataset.peer) refresh(node);
    }
  }).observe(tiles, { childList: true });
}

/**
 * Puts (or removes, for empty `text`) one small sign under a tile's caption.
 *
 * @param {HTMLElement} figure
 * @param {"quality"|"videoPaused"} key the sign's `data-*` name
 * @param {string} text
 * @param {string} [value] the attribute's value (for styling); defaults to ""
 */
function place(figure, key, text, value = "") {
  const attr = key === "quality" ? "data-quality" : "data-video-paused";
  let sign = /** @type {HTMLElement | null} */ (figure.querySelector(`[${attr}]`));
  if (!text) {
    sign?.remove();
    return;
  }
  if (!sign) {
    sign = make("p", { className: "tile-sign" });
    const after = [...figure.querySelectorAll(".tile-sign")].pop() ?? figure.querySelector("figcaption");
    if (after) after.after(sign);
    else figure.append(sign);
  }
  sign.dataset[key] = value;
  if (sign.textContent !== text) sign.textContent = text;
}

// --- small helpers --------------------------------------------------------------------------

/**
 * @param {string} tag
 * @param {Record<string, string>} props
 * @param {...(Node|string)} children
 */
function make(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}
