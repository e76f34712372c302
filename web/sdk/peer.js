/**
 * One WebRTC link to one admitted peer, negotiated by the perfect-negotiation pattern.
 *
 * The room (`alongside.js`) owns signaling; a `PeerLink` only turns relayed descriptions and
 * candidates into calls on its `RTCPeerConnection`, and its own descriptions and candidates into
 * `send(event, payload)` calls. A link never outlives the peer's `epoch`: when the peer reconnects
 * the room closes this link and makes a new one.
 *
 * See https://developer.mozilla.org/en-US/docs/Web/API/WebRTC_API/Perfect_negotiation
 *
 * @module alongside/peer
 */

/**
 * How long a non-initiator holds back its own tracks waiting for the initiator's first offer.
 * Both sides offering at once is legal in perfect negotiation, but Chromium sometimes gathers no
 * candidates at all after the polite side's implicit rollback, leaving the link stuck in `new`.
 */
const FIRST_OFFER_WAIT_MS = 4000;
/** How long the initiator waits for `connected` after negotiating before restarting ICE. */
const CONNECT_WAIT_MS = 10000;
/** How long the non-initiator lets the initiator restart a failed link before doing it itself. */
const RESTART_DEFER_MS = 2000;

/**
 * @typedef {object} PeerLinkOptions
 * @property {string} id The peer's participant id (`sub`).
 * @property {number} epoch The peer's `epoch` from the snapshot this link was made for.
 * @property {boolean} polite Our role in perfect negotiation with this peer (from the snapshot).
 * @property {boolean} initiator Whether we send the first offer (from the snapshot).
 * @property {RTCIceServer[]} iceServers Exactly what the server handed out; may be empty.
 * @property {MediaStream|null} localStream What we send, if anything yet.
 * @property {(event: "offer"|"answer"|"candidate", payload: object) => void} send
 *   Relays a signal to this peer; the room adds `to`.
 * @property {(link: PeerLink, track: MediaStreamTrack) => void} onTrack
 * @property {(link: PeerLink) => void} onFailed Called when `connectionState` becomes `failed`.
 * @property {(message: string, error?: unknown) => void} [log]
 */

export class PeerLink {
  /** @type {string} */ id;
  /** @type {number} */ epoch;
  /** @type {boolean} */ polite;
  /** @type {boolean} */ initiator;
  /** @type {RTCPeerConnection} */ pc;
  /** Everything we receive from this peer, in one stream the page can attach to a video. */
  /** @type {MediaStream} */ stream = new MediaStream();

  #send;
  #log;
  #onFailed;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #closed = false;
  /** @type {MediaStream | null} */
  #localStream = null;
  /** Set on a non-initiator until the first offer arrives (or FIRST_OFFER_WAIT_MS passes). */
  #holdingTracks = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #holdTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #watchdog;

  /** @param {PeerLinkOptions} options */
  constructor({ id, epoch, polite, initiator, iceServers, localStream, send, onTrack, onFailed, log }) {
    this.id = id;
    this.epoch = epoch;
    this.polite = polite;
    this.initiator = initiator;
    this.#send = send;
    this.#log = log ?? (() => {});
    this.#onFailed = onFailed;
    // iceServers is always passed, even when empty: no STUN server is ever added by default.
    const pc = new RTCPeerConnection({ iceServers: iceServers ?? [] });
    this.pc = pc;

    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        if (this.#closed) return;
        const { type, sdp } = pc.localDescription;
        this.#send(type === "answer" ? "answer" : "offer", { sdp });
      } catch (err) {
        this.#log(`negotiation with ${id} failed`, err);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (this.#closed) return;
      this.#send("candidate", { candidate: candidate ? candidateInit(candidate) : null });
    };
    pc.ontrack = ({ track }) => {
      if (!this.stream.getTrackById(track.id)) this.stream.addTrack(track);
      track.addEventListener("ended", () => this.stream.removeTrack(track), { once: true });
      onTrack(this, track);
    };
    pc.onconnectionstatechange = () => {
      if (this.#closed) return;
      if (pc.connectionState === "connected") this.#disarmWatchdog();
      if (pc.connectionState === "failed") this.#onFailed(this);
    };
    pc.addEventListener("signalingstatechange", () => {
      if (pc.signalingState === "stable" && pc.connectionState !== "connected") this.#armWatchdog();
    });

    if (!initiator) {
      // Let the initiator offer first; our tracks go into our answer to that offer.
      this.#holdingTracks = true;
      this.#holdTimer = setTimeout(() => this.#releaseTracks(), FIRST_OFFER_WAIT_MS);
    }
    this.setLocalStream(localStream);
  }

  /**
   * Sends `stream`'s tracks to this peer, reusing a transceiver of the same kind where one is
   * free (so swapping a camera needs no renegotiation). An initiator also asks to receive audio
   * and video it does not send, so a peer that never offers (aiortc) still gets them offered.
   * A non-initiator keeps the stream until the initiator's first offer (see FIRST_OFFER_WAIT_MS).
   *
   * @param {MediaStream|null} stream
   */
  setLocalStream(stream) {
    this.#localStream = stream;
    if (this.#closed || this.#holdingTracks) return;
    const tracks = stream ? stream.getTracks() : [];
    const unsent = new Set(tracks);
    for (const transceiver of this.pc.getTransceivers()) {
      if (isStopped(transceiver)) continue;
      const kind = transceiver.receiver.track.kind;
      const sender = transceiver.sender;
      const track = [...unsent].find((t) => t.kind === kind) ?? null;
      if (sender.track === track) {
        unsent.delete(track);
        continue;
      }
      if (!track && !sender.track) continue;
      unsent.delete(track);
      sender.replaceTrack(track).catch((err) => this.#log("replaceTrack failed", err));
      if (track) {
        sender.setStreams(stream);
        if (transceiver.direction === "recvonly") transceiver.direction = "sendrecv";
        if (transceiver.direction === "inactive") transceiver.direction = "sendonly";
      }
    }
    for (const track of unsent) this.pc.addTrack(track, stream);
    if (!this.initiator) return;
    const live = this.pc.getTransceivers().filter((t) => !isStopped(t));
    for (const kind of ["audio", "video"]) {
      if (!live.some((t) => t.receiver.track.kind === kind)) {
        this.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  /**
   * Applies a relayed `offer` or `answer`. An offer that collides with ours is ignored when we
   * are impolite, and rolls ours back (implicitly, in `setRemoteDescription`) when we are polite.
   *
   * @param {RTCSessionDescriptionInit} description
   */
  async handleDescription(description) {
    if (this.#closed) return;
    const pc = this.pc;
    try {
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === "stable" || this.#settingRemoteAnswer);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.#ignoreOffer = !this.polite && offerCollision;
      if (this.#ignoreOffer) return;
      this.#settingRemoteAnswer = description.type === "answer";
      await pc.setRemoteDescription(description);
      this.#settingRemoteAnswer = false;
      if (description.type === "offer") {
        // The offer made transceivers for us; our tracks join them and go out in the answer.
        this.#releaseTracks();
        await pc.setLocalDescription();
        if (this.#closed) return;
        this.#send("answer", { sdp: pc.localDescription.sdp });
      }
    } catch (err) {
      this.#settingRemoteAnswer = false;
      this.#log(`could not apply ${description.type} from ${this.id}`, err);
    }
  }

  /**
   * Applies a relayed ICE candidate; `null` marks the end of the peer's candidates.
   *
   * @param {RTCIceCandidateInit|null} candidate
   */
  async handleCandidate(candidate) {
    if (this.#closed) return;
    try {
      if (candidate) await this.pc.addIceCandidate(candidate);
      else await this.pc.addIceCandidate();
    } catch (err) {
      // Candidates for an offer we ignored are expected to fail.
      if (!this.#ignoreOffer) this.#log(`could not add a candidate from ${this.id}`, err);
    }
  }

  /**
   * Restarts ICE with fresh servers (new TURN credentials); negotiation follows by itself.
   *
   * @param {RTCIceServer[]} iceServers
   */
  restartIce(iceServers) {
    if (this.#closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (err) {
      this.#log("setConfiguration failed", err);
    }
    if (this.initiator) {
      this.pc.restartIce();
      return;
    }
    // The initiator restarts too; only if it has not, restart from this side (no glare).
    setTimeout(() => {
      if (!this.#closed && this.pc.connectionState === "failed") this.pc.restartIce();
    }, RESTART_DEFER_MS);
  }

  #releaseTracks() {
    if (!this.#holdingTracks) return;
    this.#holdingTracks = false;
    clearTimeout(this.#holdTimer);
    this.setLocalStream(this.#localStream);
  }

  /** The initiator restarts ICE if negotiation finished but the link never connected. */
  #armWatchdog() {
    if (!this.initiator || this.#watchdog !== undefined) return;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (!this.#closed && this.pc.connectionState !== "connected") {
        this.#log(`no connection with ${this.id} yet; restarting ICE`);
        this.#onFailed(this);
      }
    }, CONNECT_WAIT_MS);
  }

  #disarmWatchdog() {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Closes the connection; later signals for this link are ignored. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#holdTimer);
    this.#disarmWatchdog();
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    for (const track of this.stream.getTracks()) track.stop();
  }

  /** @returns {boolean} */
  get closed() {
    return this.#closed;
  }
}

/**
 * The wire form of a candidate: only the fields the protocol names, and none that are null
 * (the server's schema treats them as optional, not nullable).
 *
 * @param {RTCIceCandidate} candidate
 * @returns {{candidate: string, sdpMid?: string, sdpMLineIndex?: number, usernameFragment?: string}}
 */
function candidateInit(candidate) {
  const json = candidate.toJSON();
  /** @type {{candidate: string, sdpMid?: string, sdpMLineIndex?: number, usernameFragment?: string}} */
  const init = { candidate: json.candidate ?? "" };
  if (json.sdpMid != null) init.sdpMid = json.sdpMid;
  if (json.sdpMLineIndex != null) init.sdpMLineIndex = json.sdpMLineIndex;
  if (json.usernameFragment != null) init.usernameFragment = json.usernameFragment;
  return init;
}

/** @param {RTCRtpTransceiver} transceiver */
function isStopped(transceiver) {
  return transceiver.currentDirection === "stopped" || transceiver.direction === "stopped";
}
