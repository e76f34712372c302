// The device check on the session page, and the page's own camera and microphone.
//
//   import { openDevices, mediaProblem, mountDevices } from "./devices.js";
//   const stream = await openDevices();          // instead of getUserMedia({video, audio})
//   mountDevices({ room, camera: () => camera, retry: startCamera });
//
// `openDevices()` opens the chosen camera and microphone (or the browser's defaults), and falls
// back to whichever of the two exists when one is missing. `mediaProblem(err)` says in plain words
// why it failed. `mountDevices` fills `<section data-devices>`: a camera and a microphone choice
// (from enumerateDevices), a microphone level meter, and a way to try again after a refusal. It is
// shown before joining (with the camera preview, `<video data-local>`, above it) and, in the
// session, when the person asks for it (controls.js). A new choice swaps the track inside the
// page's one MediaStream and hands it to the SDK (`room.setLocalStream`), whose links replace
// their senders' tracks: no renegotiation, no interruption for the others.
//
// Mute and camera off (controls.js) live here too, because they act on the same tracks: muting
// disables the microphone track; "Camera off" stops the camera (its light goes out) and "Camera
// on" opens it again.
//
// Nothing is stored: the choice lasts as long as the page.

import { t } from "./i18n.js";

/** The person's choices on this page (device ids), in memory only. */
const choice = { videoinput: "", audioinput: "" };
/** What happened the last time the devices were opened. */
const status = {
  /** @type {"" | "denied" | "none" | "busy" | "unsupported" | "failed"} */
  problem: "",
  /** Opened, but without one of the two. */
  noCamera: false,
  noMicrophone: false,
  /** The person turned the camera off. */
  cameraOff: false,
  /** The person muted themselves (a tool's mute and unmute don't change this). */
  selfMuted: false,
};

/**
 * Tells the page's modules that the local media changed (opened, swapped, muted, camera off or
 * on, or failed). Listeners read the state through the functions below.
 */
export const localMedia = new EventTarget();

function changed() {
  // After the caller's own `await openDevices()` continuation has adopted the stream.
  setTimeout(() => localMedia.dispatchEvent(new Event("change")), 0);
}

/** @param {string} kind */
function constraint(kind) {
  const id = choice[kind];
  return id ? { deviceId: { exact: id } } : true;
}

/**
 * Opens the camera and microphone: the ones chosen on this page, else the browser's defaults.
 * When one of the two is missing, opens the other alone. Throws the browser's error (a
 * DOMException) when nothing can be opened; `mediaProblem(err)` words it.
 *
 * @returns {Promise<MediaStream>}
 */
export async function openDevices() {
  status.noCamera = false;
  status.noMicrophone = false;
  status.cameraOff = false;
  status.selfMuted = false;
  if (!navigator.mediaDevices?.getUserMedia) {
    status.problem = "unsupported";
    changed();
    throw new DOMException("getUserMedia is not available", "NotSupportedError");
  }
  const gum = (c) => navigator.mediaDevices.getUserMedia(c);
  const missing = (err) => ["NotFoundError", "OverconstrainedError"].includes(err?.name);
  try {
    /** @type {MediaStream | null} */
    let stream = null;
    try {
      stream = await gum({ video: constraint("videoinput"), audio: constraint("audioinput") });
    } catch (err) {
      if (!missing(err)) throw err;
      let reason = err;
      if (choice.videoinput || choice.audioinput) {
        // A chosen device went away: the browser's defaults instead.
        choice.videoinput = "";
        choice.audioinput = "";
        stream = await gum({ video: true, audio: true }).catch((again) => {
          reason = again;
          return null;
        });
        if (!stream && !missing(reason)) throw reason;
      }
      if (!stream) {
        // One of the two is missing: the other alone.
        stream = await gum({ audio: true }).catch(() => null);
        if (stream) status.noCamera = true;
      }
      if (!stream) {
        stream = await gum({ video: true }).catch(() => null);
        if (stream) status.noMicrophone = true;
      }
      if (!stream) throw reason;
    }
    status.problem = "";
    changed();
    return stream;
  } catch (err) {
    status.problem = problemKind(err);
    changed();
    throw err;
  }
}

/** @param {any} err */
function problemKind(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "none";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "busy";
    case "NotSupportedError":
      return "unsupported";
    default:
      return "failed";
  }
}

/**
 * A plain sentence for a failed `openDevices()`.
 *
 * @param {unknown} err
 * @returns {string}
 */
export function mediaProblem(err) {
  // One catalogue key per kind: devices.problem.{denied,none,busy,unsupported,failed}.
  return t(`devices.problem.${problemKind(err)}`);
}

// --- mute and camera ----------------------------------------------------------------------------

/** @param {MediaStream | null} stream */
export function isMuted(stream) {
  const tracks = stream?.getAudioTracks() ?? [];
  return tracks.length > 0 && tracks.every((t) => !t.enabled);
}

/** @param {MediaStream | null} stream */
export function hasMicrophone(stream) {
  return (stream?.getAudioTracks().length ?? 0) > 0;
}

/** @param {MediaStream | null} stream */
export function isCameraOff(stream) {
  return Boolean(stream) && status.cameraOff;
}

/** Whether a camera can be turned on or off at all (one was opened this time). */
export function hasCamera(stream) {
  return Boolean(stream) && (status.cameraOff || (stream?.getVideoTracks().length ?? 0) > 0);
}

/** Whether the person muted themselves (precall.js keeps them muted when a tool unmutes). */
export function mutedByChoice() {
  return status.selfMuted;
}

/**
 * The person's own Mute / Unmute. Unmuting also lifts a tool's mute: people may always speak.
 *
 * @param {MediaStream | null} stream
 * @param {boolean} muted
 */
export function setMuted(stream, muted) {
  status.selfMuted = muted;
  for (const track of stream?.getAudioTracks() ?? []) track.enabled = !muted;
  changed();
}

/**
 * Turns the camera off (stops it: its light goes out, the others see no picture) or on again.
 *
 * @param {import("./sdk/alongside.js").AlongsideRoom} room
 * @param {MediaStream | null} stream
 * @param {boolean} on
 * @returns {Promise<{ok: boolean, message?: string}>}
 */
export async function setCamera(room, stream, on) {
  if (!stream) return { ok: false, message: t("devices.camera.unavailable") };
  if (!on) {
    for (const track of stream.getVideoTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    status.cameraOff = true;
    room.setLocalStream(stream);
    changed();
    return { ok: true };
  }
  try {
    const fresh = await navigator.mediaDevices.getUserMedia({ video: constraint("videoinput") });
    if (!status.cameraOff) {
      // Turned on twice, or the page moved on meanwhile: keep what is there.
      for (const track of fresh.getTracks()) track.stop();
      return { ok: true };
    }
    for (const track of fresh.getVideoTracks()) stream.addTrack(track);
    status.cameraOff = false;
    room.setLocalStream(stream);
    changed();
    return { ok: true };
  } catch (err) {
    return { ok: false, message: t("devices.camera.notBack", { problem: mediaProblem(err) }) };
  }
}

/**
 * Uses another camera or microphone: the new track takes the old one's place in `stream` (muted
 * if the old one was), and the SDK sends it on every link in place of the old one.
 *
 * @param {import("./sdk/alongside.js").AlongsideRoom} room
 * @param {MediaStream} stream
 * @param {"videoinput" | "audioinput"} kind
 * @param {string} deviceId
 */
async function switchDevice(room, stream, kind, deviceId) {
  const previous = choice[kind];
  choice[kind] = deviceId;
  if (kind === "videoinput" && status.cameraOff) return; // used when the camera goes back on
  const trackKind = kind === "videoinput" ? "video" : "audio";
  const old = stream.getTracks().filter((t) => t.kind === trackKind);
  const open = () => navigator.mediaDevices.getUserMedia({ [trackKind]: { deviceId: { exact: deviceId } } });
  let fresh;
  try {
    fresh = await open();
  } catch (err) {
    if (err?.name !== "NotReadableError" || old.length === 0) {
      choice[kind] = previous;
      throw err;
    }
    // Some systems open one camera at a time: let go of the old one first.
    for (const track of old) track.stop();
    try {
      fresh = await open();
    } catch (again) {
      choice[kind] = previous;
      fresh = await navigator.mediaDevices.getUserMedia({ [trackKind]: constraint(kind) }).catch(() => null);
      if (!fresh) throw again;
    }
  }
  const track = fresh.getTracks().find((t) => t.kind === trackKind);
  if (!track) return;
  track.enabled = old.length ? old.every((t) => t.enabled) : true;
  for (const t of old) {
    stream.removeTrack(t);
    t.stop();
  }
  stream.addTrack(track);
  room.setLocalStream(stream);
  changed();
}

// --- the device check panel ---------------------------------------------------------------------

/** body[data-phase] values (room.js) in which the panel is shown without being asked for. */
const CHECK_PHASES = new Set(["ready", "joining", "waiting", "left"]);
const METER_MS = 100;

/**
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 * @param {() => MediaStream | null} options.camera the page's camera and microphone, if on
 * @param {() => unknown} options.retry opens the camera and microphone again (room.js)
 * @returns {{ toggle(open?: boolean): boolean, section: HTMLElement } | null}
 */
export function mountDevices({ room, camera, retry }) {
  const section = /** @type {HTMLElement | null} */ (document.querySelector("[data-devices]"));
  if (!section) return null;
  section.classList.add("panel", "devices");
  section.id ||= "devices";
  section.setAttribute("aria-labelledby", "devices-title");

  const title = make("h2", { id: "devices-title" }, t("devices.title"));
  const intro = make("p", { className: "quiet" }, t("devices.intro"));

  const cameraSelect = make("select", { id: "device-camera" });
  const micSelect = make("select", { id: "device-microphone" });
  const cameraField = make("div", { className: "field" },
    make("label", { htmlFor: "device-camera" }, t("devices.camera")), cameraSelect);
  const micField = make("div", { className: "field" },
    make("label", { htmlFor: "device-microphone" }, t("devices.microphone")), micSelect);

  const meter = /** @type {HTMLMeterElement} */ (make("meter", { id: "mic-level", min: 0, max: 1, low: 0.02, high: 0.85, optimum: 0.5, value: 0 }));
  meter.setAttribute("aria-describedby", "mic-level-hint");
  const meterHint = make("p", { className: "hint", id: "mic-level-hint" }, t("devices.meter.hint"));
  const meterField = make("div", { className: "field meter-field" },
    make("label", { htmlFor: "mic-level" }, t("devices.meter")), meter, meterHint);

  const note = make("p", { className: "devices-note" });
  note.setAttribute("role", "status");
  note.hidden = true;
  const again = make("button", { type: "button" }, t("devices.tryAgain"));
  const againRow = make("div", { className: "actions" }, again);
  againRow.hidden = true;

  section.replaceChildren(title, intro, cameraField, micField, meterField, note, againRow);

  let asked = false; // shown on request during the session
  let phase = document.body.dataset.phase ?? "ready";
  /** What the person's last action here led to (a switch that failed, a try again). */
  let lately = "";

  again.addEventListener("click", async () => {
    again.disabled = true;
    lately = t("devices.tryingAgain");
    say(lately);
    try {
      await retry();
    } finally {
      again.disabled = false;
      lately = "";
      render();
    }
  });

  /** @param {string} text */
  function say(text) {
    if (note.textContent !== text) note.textContent = text;
    note.hidden = !text;
  }

  const meterLoop = new MicMeter(meter);

  async function listDevices() {
    let devices = [];
    try {
      devices = await navigator.mediaDevices?.enumerateDevices?.() ?? [];
    } catch {
      devices = [];
    }
    const stream = camera();
    fill(cameraSelect, devices.filter((d) => d.kind === "videoinput"), "devices.camera.numbered",
      stream?.getVideoTracks()[0]?.getSettings().deviceId || choice.videoinput);
    fill(micSelect, devices.filter((d) => d.kind === "audioinput"), "devices.microphone.numbered",
      stream?.getAudioTracks()[0]?.getSettings().deviceId || choice.audioinput);
  }

  /**
   * @param {HTMLSelectElement} select
   * @param {MediaDeviceInfo[]} devices
   * @param {string} unnamed the catalogue key for a device without a label ("Camera 2")
   * @param {string} current
   */
  function fill(select, devices, unnamed, current) {
    const usable = devices.filter((d) => d.deviceId);
    const options = usable.map((d, i) => make("option", { value: d.deviceId }, d.label || t(unnamed, { n: i + 1 })));
    const sig = JSON.stringify(usable.map((d) => [d.deviceId, d.label]));
    if (select.dataset.sig !== sig) {
      select.dataset.sig = sig;
      select.replaceChildren(...options);
    }
    if (current && usable.some((d) => d.deviceId === current)) select.value = current;
    select.closest(".field").hidden = usable.length === 0;
  }

  /** One switch at a time; a choice made meanwhile is applied next (the select stays usable,
   * so keyboard focus never drops out of it). */
  let switching = false;
  /** @type {["videoinput" | "audioinput", string] | null} */
  let pending = null;

  /**
   * @param {"videoinput" | "audioinput"} kind
   * @param {string} id
   */
  async function onChoose(kind, id) {
    const stream = camera();
    if (!stream) {
      choice[kind] = id;
      return;
    }
    if (switching) {
      pending = [kind, id];
      return;
    }
    switching = true;
    lately = t(kind === "videoinput" ? "devices.switching.camera" : "devices.switching.microphone");
    say(lately);
    try {
      await switchDevice(room, stream, kind, id);
      lately = "";
    } catch (err) {
      lately = t(kind === "videoinput" ? "devices.failed.camera" : "devices.failed.microphone",
        { problem: mediaProblem(err) });
    } finally {
      switching = false;
      render();
    }
    const next = pending;
    pending = null;
    if (next) onChoose(...next);
  }
  cameraSelect.addEventListener("change", () => onChoose("videoinput", cameraSelect.value));
  micSelect.addEventListener("change", () => onChoose("audioinput", micSelect.value));
  navigator.mediaDevices?.addEventListener?.("devicechange", () => listDevices());

  function render() {
    const stream = camera();
    const working = Boolean(stream);
    const shown = asked || CHECK_PHASES.has(phase);
    // Without a camera and microphone the panel has something to offer only after a refusal
    // ("Try again"), and not once the person has left (the page turned them off on purpose).
    section.hidden = !shown || phase === "over" || (!working && (!status.problem || phase === "left"));
    intro.textContent = t(phase === "in" ? "devices.intro.in" : "devices.intro");
    intro.hidden = !working;
    cameraField.hidden = !working;
    micField.hidden = !working;
    meterField.hidden = !working || !hasMicrophone(stream);
    if (!working) {
      // The reason is on the preview (room.js shows mediaProblem's words there).
      say(lately || (status.problem && status.problem !== "unsupported" ? t("devices.later") : ""));
      againRow.hidden = !status.problem || status.problem === "unsupported";
    } else {
      againRow.hidden = true;
      say(lately || (status.noCamera ? t("devices.noCamera")
        : status.noMicrophone ? t("devices.noMicrophone") : ""));
      listDevices();
    }
    meterLoop.follow(!section.hidden && working ? stream : null);
  }

  localMedia.addEventListener("change", render);
  new MutationObserver(() => {
    const next = document.body.dataset.phase ?? "ready";
    if (next === phase) return;
    if (next !== "in") asked = false;
    phase = next;
    render();
  }).observe(document.body, { attributes: true, attributeFilter: ["data-phase"] });
  document.addEventListener("visibilitychange", () => meterLoop.follow(!section.hidden && !document.hidden ? camera() : null));
  render();

  return {
    section,
    /** Shows or hides the panel during the session; returns whether it is shown. */
    toggle(open = section.hidden) {
      asked = open;
      render();
      return !section.hidden;
    },
  };
}

/**
 * The microphone level, from a Web Audio AnalyserNode on the microphone track (nothing is
 * played back). Runs only while the meter is on screen.
 */
class MicMeter {
  /** @param {HTMLMeterElement} meter */
  constructor(meter) {
    this.meter = meter;
    /** @type {AudioContext | null} */
    this.context = null;
    /** @type {MediaStreamAudioSourceNode | null} */
    this.source = null;
    /** @type {AnalyserNode | null} */
    this.analyser = null;
    /** @type {MediaStreamTrack | null} */
    this.track = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    this.level = 0;
    this.samples = new Float32Array(1024);
    this.wake = () => this.context?.resume().catch(() => {});
  }

  /** @param {MediaStream | null} stream measure this stream's microphone, or stop (null) */
  follow(stream) {
    const track = stream?.getAudioTracks().find((t) => t.readyState === "live") ?? null;
    if (!track) {
      this.stop();
      return;
    }
    if (track !== this.track) this.attach(track);
    if (this.timer === undefined) this.timer = setInterval(() => this.tick(), METER_MS);
  }

  /** @param {MediaStreamTrack} track */
  attach(track) {
    const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!Context) return;
    this.source?.disconnect();
    this.context ??= new Context();
    this.track = track;
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.source.connect(this.analyser);
    // A page may not start audio before the person has interacted with it; the first tap or
    // key press wakes it up (nothing is played either way).
    if (this.context.state !== "running") {
      this.context.resume().catch(() => {});
      document.addEventListener("pointerdown", this.wake, { once: true });
      document.addEventListener("keydown", this.wake, { once: true });
    }
  }

  tick() {
    const analyser = this.analyser;
    if (!analyser || !this.track || this.track.readyState !== "live") {
      this.show(0);
      return;
    }
    analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const x of this.samples) sum += x * x;
    const rms = Math.sqrt(sum / this.samples.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    // -60 dBFS (near silence) .. 0 dBFS (as loud as it gets), rising fast and falling gently.
    const target = this.track.enabled ? Math.min(1, Math.max(0, (db + 60) / 60)) : 0;
    this.level = target > this.level ? target : this.level * 0.8 + target * 0.2;
    this.show(this.level);
  }

  /** @param {number} level */
  show(level) {
    const rounded = Math.round(level * 100) / 100;
    if (this.meter.value !== rounded) this.meter.value = rounded;
    const words = t(this.track && !this.track.enabled ? "devices.meter.muted"
      : level < 0.05 ? "devices.meter.quiet" : level < 0.6 ? "devices.meter.hearing" : "devices.meter.loud");
    if (this.meter.getAttribute("aria-valuetext") !== words) this.meter.setAttribute("aria-valuetext", words);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    this.source?.disconnect();
    this.source = null;
    this.analyser = null;
    this.track = null;
    this.level = 0;
    this.meter.value = 0;
    if (this.context) {
      this.context.close().catch(() => {});
      this.context = null;
    }
  }
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
