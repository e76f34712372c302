/**
 * Connection quality for the Alongside browser SDK: the pre-call test and the in-session reports.
 * Plain ES module, no DOM; speaks §4 "Pre-call test and connection quality" of `docs/protocol.md`.
 *
 * ```js
 * import { runPrecallTest, QualityMonitor } from "/static/sdk/quality.js";
 *
 * // Before joining: a short test call to the server's echo peer.
 * const result = await runPrecallTest(room, { stream: camera, onStream: (s) => video.srcObject = s });
 * if (result.ok) show(result.verdict.level, t(`devices.advice.${result.verdict.advice}`), result.summary);
 *
 * // While admitted: a summary every 5 s; the answer's verdict says whether to offer audio only.
 * const monitor = new QualityMonitor(room);
 * monitor.addEventListener("verdict", (e) => e.detail.verdict.audioOnly && offerAudioOnly());
 * monitor.start();
 * ```
 *
 * A summary is `{rtt, loss, jitter, bitrate}`: round trip in ms, packet loss 0..1, jitter in ms,
 * bitrate in kbit/s (0 when unknown). The server classifies it (`server/domain/quality.py`) and
 * answers `{verdict: {level: "good"|"fair"|"poor", advice, audioOnly}}`; `advice` is a code
 * for the page to word (`devices.advice.<code>` in the catalogues), never a sentence.
 *
 * Test hook: if `globalThis.__alongsideQualityOverride` is an object, its fields replace the
 * measured ones in every in-session summary (and a summary is sent even with no peer yet). It lets
 * a browser test play a weak link; nothing in the product sets it. See `docs/media.md`.
 *
 * @module alongside/quality
 */

/** How often an admitted page sends its summary. */
export const REPORT_INTERVAL_MS = 5000;
/** How many data-channel pings the pre-call test times. */
export const PRECALL_PINGS = 10;
/** The pre-call test reads getStats over at least this long. */
export const PRECALL_WINDOW_MS = 3000;
/** The pre-call test's own bounds, inside the server's (`seconds` in the `precall` answer). */
const GATHER_WAIT_MS = 4000;
const CONNECT_WAIT_MS = 10000;
const PONG_WAIT_MS = 1500;
const PING_GAP_MS = 120;

/** The ranges the server accepts (`server/domain/quality.py`); values are clamped into them. */
const TOP = { rtt: 60000, loss: 1, jitter: 60000, bitrate: 1000000 };

/**
 * @typedef {{rtt: number, loss: number, jitter: number, bitrate: number}} Summary
 * @typedef {{level: "good"|"fair"|"poor", advice: "good"|"fair"|"poor", audioOnly: boolean}} Verdict
 *
 * @typedef {object} Reading  What one getStats call says, reduced to what a summary needs.
 * @property {number} at        `performance.now()` when read
 * @property {number} lost      packets lost, all inbound RTP streams
 * @property {number} received  packets received, all inbound RTP streams
 * @property {number} bytes     bytes received, all inbound RTP streams
 * @property {number} frames    video frames decoded, all inbound video streams
 * @property {number|null} jitter    seconds; audio's if there is inbound audio, else video's
 * @property {number|null} rtt       seconds, of the selected candidate pair (else RTCP's)
 * @property {number|null} available bits/s the sender may use (the pair's bandwidth estimate)
 * @property {string|null} localType candidate type of the selected pair's local side
 */

/**
 * Reads one peer connection's stats.
 *
 * @param {RTCPeerConnection} pc
 * @returns {Promise<Reading>}
 */
export async function read(pc) {
  const report = await pc.getStats();
  const at = performance.now();
  let lost = 0;
  let received = 0;
  let bytes = 0;
  let frames = 0;
  /** @type {number|null} */ let audioJitter = null;
  /** @type {number|null} */ let videoJitter = null;
  /** @type {number|null} */ let rtcpRtt = null;
  /** @type {string|null} */ let selectedId = null;
  /** @type {Map<string, any>} */ const pairs = new Map();
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      lost += num(s.packetsLost);
      received += num(s.packetsReceived);
      bytes += num(s.bytesReceived);
      if (s.kind === "video") frames += num(s.framesDecoded);
      if (typeof s.jitter === "number") {
        if (s.kind === "audio") audioJitter = Math.max(audioJitter ?? 0, s.jitter);
        else videoJitter = Math.max(videoJitter ?? 0, s.jitter);
      }
    } else if (s.type === "remote-inbound-rtp" && typeof s.roundTripTime === "number") {
      rtcpRtt = Math.max(rtcpRtt ?? 0, s.roundTripTime);
    } else if (s.type === "transport" && s.selectedCandidatePairId) {
      selectedId = s.selectedCandidatePairId;
    } else if (s.type === "candidate-pair") {
      pairs.set(s.id, s);
    }
  });
  const pair =
    (selectedId && pairs.get(selectedId)) ||
    [...pairs.values()].find((p) => p.nominated && p.state === "succeeded") ||
    null;
  const local = pair ? report.get(pair.localCandidateId) : null;
  return {
    at,
    lost,
    received,
    bytes,
    frames,
    jitter: audioJitter ?? videoJitter,
    rtt: typeof pair?.currentRoundTripTime === "number" ? pair.currentRoundTripTime : rtcpRtt,
    available: typeof pair?.availableOutgoingBitrate === "number" ? pair.availableOutgoingBitrate : null,
    localType: local?.candidateType ?? null,
  };
}

/**
 * The summary of what happened between two readings of one connection (`before` may be null:
 * then loss is counted since the start and the bitrate is unknown).
 *
 * @param {Reading|null} before
 * @param {Reading} now
 * @param {{preferEstimate?: boolean}} [options] `preferEstimate` reports the link's bandwidth
 *   estimate rather than what arrived, so a peer who chose to send less (audio only) does not
 *   make this person's link look weak.
 * @returns {Summary}
 */
export function summarize(before, now, { preferEstimate = false } = {}) {
  const lost = Math.max(0, now.lost - (before?.lost ?? 0));
  const got = Math.max(0, now.received - (before?.received ?? 0));
  let bitrate = 0;
  if (preferEstimate && now.available) bitrate = now.available / 1000;
  else if (before && now.at > before.at) bitrate = ((now.bytes - before.bytes) * 8) / (now.at - before.at);
  return clamp({
    rtt: (now.rtt ?? 0) * 1000,
    loss: lost + got > 0 ? lost / (lost + got) : 0,
    jitter: (now.jitter ?? 0) * 1000,
    bitrate,
  });
}

/**
 * Several links as one: the worst of each (a bitrate of 0 means unknown and is skipped).
 *
 * @param {Summary[]} summaries
 * @returns {Summary|null}
 */
export function worst(summaries) {
  if (summaries.length === 0) return null;
  const rates = summaries.map((s) => s.bitrate).filter((b) => b > 0);
  return {
    rtt: Math.max(...summaries.map((s) => s.rtt)),
    loss: Math.max(...summaries.map((s) => s.loss)),
    jitter: Math.max(...summaries.map((s) => s.jitter)),
    bitrate: rates.length ? Math.min(...rates) : 0,
  };
}

/**
 * @param {number[]} values
 * @returns {number|null}
 */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * @typedef {object} PrecallOk
 * @property {true} ok
 * @property {Summary} summary
 * @property {Verdict} verdict
 * @property {number} pings how many pings came back (of {@link PRECALL_PINGS})
 * @property {boolean} media whether camera or microphone tracks were part of the test
 *
 * @typedef {{ok: false, error: {code: string, message: string}}} PrecallRefused
 *   Besides the server's codes (`E_PRECALL_BUSY`, `E_BAD_SDP`, ...): `E_PRECALL_NO_CONNECTION`
 *   (the test call did not connect), `E_PRECALL_STOPPED` (stopped through `signal`).
 */

/**
 * Runs one pre-call test: offers to the server's echo peer with the same ICE servers as the
 * rooms, shows the looped-back media through `onStream`, times data-channel pings, reads
 * getStats, and asks the server for a verdict. The peer connection is always closed and the
 * server told (`precall-stop`), whatever happens. Never throws.
 *
 * @param {import("./alongside.js").AlongsideRoom} room connected here if it is not yet
 * @param {object} [options]
 * @param {MediaStream|null} [options.stream] camera and microphone to loop back (may be null)
 * @param {(stream: MediaStream) => void} [options.onStream] the looped-back media
 * @param {AbortSignal} [options.signal] stops the test early
 * @returns {Promise<PrecallOk|PrecallRefused>}
 */
export async function runPrecallTest(room, { stream = null, onStream, signal } = {}) {
  try {
    await room.connect();
  } catch (err) {
    return refusedWith(err?.code ?? "E_DISCONNECTED", err?.message ?? "The session could not be reached.");
  }
  const servers = await room.request("ice-servers");
  // Before joining the server may refuse this (E_NOT_JOINED): then the test has no TURN server.
  const iceServers = servers.ok && Array.isArray(servers.iceServers) ? servers.iceServers : [];
  /** @type {RTCConfiguration} */
  const config = { iceServers };
  if (room.iceTransportPolicy === "relay" && iceServers.length) config.iceTransportPolicy = "relay";
  const pc = new RTCPeerConnection(config);
  let started = false;
  const stopped = () => Boolean(signal?.aborted);
  try {
    const tracks = stream ? stream.getTracks().filter((t) => t.readyState === "live") : [];
    for (const track of tracks) pc.addTrack(track, stream);
    const back = new MediaStream();
    pc.ontrack = ({ track }) => {
      back.addTrack(track);
      onStream?.(back);
    };
    const channel = pc.createDataChannel("rtt");
    await pc.setLocalDescription(await pc.createOffer());
    // The echo peer takes no trickled candidates: the offer must carry them all.
    await until(() => pc.iceGatheringState === "complete", pc, "icegatheringstatechange", GATHER_WAIT_MS, signal);
    if (stopped()) return stoppedAnswer();
    const answer = await room.request("precall", { sdp: pc.localDescription.sdp });
    if (!answer.ok) return answer;
    started = true;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    const open = await until(() => channel.readyState === "open", channel, "open", CONNECT_WAIT_MS, signal);
    if (stopped()) return stoppedAnswer();
    if (!open) {
      return refusedWith("E_PRECALL_NO_CONNECTION", "The test call could not connect.");
    }
    const before = await read(pc);
    const rtts = await ping(channel, signal);
    const left = PRECALL_WINDOW_MS - (performance.now() - before.at);
    if (left > 0) await sleep(left, signal);
    if (stopped()) return stoppedAnswer();
    const measured = summarize(before, await read(pc));
    const rtt = median(rtts);
    const summary = clamp({ ...measured, rtt: rtt ?? measured.rtt });
    const result = await room.request("precall-result", summary);
    if (!result.ok) return result;
    return { ok: true, summary, verdict: result.verdict, pings: rtts.length, media: tracks.length > 0 };
  } catch (err) {
    return refusedWith("E_PRECALL_NO_CONNECTION", String(err?.message ?? err));
  } finally {
    pc.ontrack = null;
    pc.close();
    if (started) room.request("precall-stop").catch(() => {});
  }
}

/**
 * Sends {@link PRECALL_PINGS} pings, one after another, and returns the round trips (ms) of
 * those answered in time.
 *
 * @param {RTCDataChannel} channel
 * @param {AbortSignal} [signal]
 * @returns {Promise<number[]>}
 */
async function ping(channel, signal) {
  /** @type {number[]} */
  const rtts = [];
  for (let i = 0; i < PRECALL_PINGS && !signal?.aborted && channel.readyState === "open"; i++) {
    const tag = `${i}:${Math.random().toString(36).slice(2, 8)}`;
    const rtt = await new Promise((resolve) => {
      const sent = performance.now();
      const timer = setTimeout(() => done(null), PONG_WAIT_MS);
      const onMessage = (e) => {
        if (e.data === `pong${tag}`) done(performance.now() - sent);
      };
      const done = (value) => {
        clearTimeout(timer);
        channel.removeEventListener("message", onMessage);
        resolve(value);
      };
      channel.addEventListener("message", onMessage);
      try {
        channel.send(`ping${tag}`);
      } catch {
        done(null);
      }
    });
    if (typeof rtt === "number") rtts.push(rtt);
    await sleep(PING_GAP_MS, signal);
  }
  return rtts;
}

/**
 * Sends an in-session summary every {@link REPORT_INTERVAL_MS} while the room says you are
 * admitted, and emits `verdict` with `{verdict, summary}` for each answer. The clinician's page
 * gets everyone's reports from the server as the room's `quality` event.
 *
 * It also emits `video` with `{peers: Map<peerId, boolean>}`: whether video frames arrived from
 * each connected peer since the last reading (a peer on audio only, or whose camera is off,
 * sends none; the page can say so instead of showing a frozen picture).
 */
export class QualityMonitor extends EventTarget {
  #room;
  #intervalMs;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  /** @type {WeakMap<RTCPeerConnection, Reading>} */
  #last = new WeakMap();
  #busy = false;
  #onRoom;

  /**
   * @param {import("./alongside.js").AlongsideRoom} room
   * @param {{intervalMs?: number}} [options]
   */
  constructor(room, { intervalMs = REPORT_INTERVAL_MS } = {}) {
    super();
    this.#room = room;
    this.#intervalMs = intervalMs;
    this.#onRoom = () => this.#follow();
  }

  /** Follows the room: reports while admitted, stays quiet otherwise. */
  start() {
    for (const type of ["room", "sentback", "denied", "removed", "ended", "superseded", "error"]) {
      this.#room.addEventListener(type, this.#onRoom);
    }
    this.#follow();
  }

  stop() {
    for (const type of ["room", "sentback", "denied", "removed", "ended", "superseded", "error"]) {
      this.#room.removeEventListener(type, this.#onRoom);
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #admitted() {
    const snap = this.#room.snapshot;
    return Boolean(this.#room.connected && snap?.status === "open" && snap.you?.state === "admitted");
  }

  #follow() {
    const on = this.#admitted();
    if (on && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    } else if (!on && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** One report: read every live link, summarise, send, and pass the verdict on. */
  async #tick() {
    if (this.#busy || !this.#admitted()) return;
    this.#busy = true;
    try {
      /** @type {Summary[]} */
      const summaries = [];
      /** @type {Map<string, boolean>} */
      const video = new Map();
      for (const [peerId, pc] of this.#room.peerConnections) {
        if (pc.connectionState !== "connected") continue;
        const before = this.#last.get(pc) ?? null;
        const now = await read(pc);
        summaries.push(summarize(before, now, { preferEstimate: true }));
        this.#last.set(pc, now);
        if (before) video.set(peerId, now.frames > before.frames);
      }
      this.dispatchEvent(new CustomEvent("video", { detail: { peers: video } }));
      const override = globalThis.__alongsideQualityOverride;
      let summary = worst(summaries);
      if (override && typeof override === "object") {
        summary = clamp({ ...(summary ?? { rtt: 0, loss: 0, jitter: 0, bitrate: 0 }), ...override });
      }
      if (!summary) return;
      const answer = await this.#room.request("quality", summary);
      if (answer.ok && answer.verdict) {
        this.dispatchEvent(new CustomEvent("verdict", { detail: { verdict: answer.verdict, summary } }));
      }
    } catch (err) {
      console.warn("[alongside] quality report failed", err);
    } finally {
      this.#busy = false;
    }
  }
}

// --- helpers ----------------------------------------------------------------------------------

/** @param {unknown} value */
function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * @param {Summary} s
 * @returns {Summary}
 */
function clamp(s) {
  /** @type {any} */
  const out = {};
  for (const key of /** @type {(keyof Summary)[]} */ (["rtt", "loss", "jitter", "bitrate"])) {
    const value = Number(s[key]);
    const safe = Number.isFinite(value) ? Math.min(Math.max(value, 0), TOP[key]) : 0;
    out[key] = key === "loss" ? Math.round(safe * 10000) / 10000 : Math.round(safe * 10) / 10;
  }
  return out;
}

/**
 * Waits until `ready()` is true, re-checking on `event` from `target`; false after `ms`.
 *
 * @param {() => boolean} ready
 * @param {EventTarget} target
 * @param {string} event
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<boolean>}
 */
function until(ready, target, event, ms, signal) {
  if (ready()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (value) => {
      clearTimeout(timer);
      target.removeEventListener(event, check);
      signal?.removeEventListener("abort", abort);
      resolve(value);
    };
    const check = () => ready() && finish(true);
    const abort = () => finish(false);
    const timer = setTimeout(() => finish(ready()), ms);
    target.addEventListener(event, check);
    signal?.addEventListener("abort", abort);
  });
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve(undefined);
    }
    signal?.addEventListener("abort", done);
  });
}

/**
 * @param {string} code
 * @param {string} message
 * @returns {PrecallRefused}
 */
function refusedWith(code, message) {
  return { ok: false, error: { code, message } };
}

function stoppedAnswer() {
  return refusedWith("E_PRECALL_STOPPED", "The test was stopped.");
}
