/**
 * Alongside browser SDK: join a session room, run its lobby, and hold one WebRTC link per
 * admitted peer. Plain ES module, no build step; speaks the protocol in `docs/protocol.md`.
 *
 * ```js
 * import { AlongsideRoom } from "/static/sdk/alongside.js";
 * const room = new AlongsideRoom({ getToken: () => fetchTokenFromYourBackend() });
 * room.addEventListener("room", (e) => render(e.detail));
 * room.addEventListener("track", (e) => videoFor(e.detail.peerId).srcObject = e.detail.stream);
 * room.setLocalStream(await navigator.mediaDevices.getUserMedia({ video: true, audio: true }));
 * await room.connect();
 * const answer = await room.join(); // {ok: true, you, room, iceServers} or {ok: false, error}
 * ```
 *
 * Events (all `CustomEvent`s; the payload is `event.detail`):
 *
 * | event | detail | when |
 * |---|---|---|
 * | `room` | snapshot | the room changed (also after `join`, `snapshot` and clinician actions) |
 * | `admitted` | `{}` | you were let in (a `room` event has or will have the new state) |
 * | `presence` | `{participant, status}` | an admitted peer joined, is reconnecting, or left |
 * | `track` | `{peerId, stream, track}` | media arrived from a peer; `stream` is stable per link |
 * | `peerleft` | `{peerId}` | a peer is no longer in the room (its link is closed) |
 * | `denied` | `{reason, code}` | the clinician did not admit you (`E_DENIED`); you may `join()` again; `reason` is the clinician's own words or `""` |
 * | `sentback` | `{}` | you are back in the lobby; links are closed |
 * | `removed` | `{reason, code}` | you were moved out (`E_REMOVED`, or an access change such as `E_CONSENT_WITHDRAWN`); the connection is closed; word `code` in your language, `reason` is the clinician's own words or `""` |
 * | `ended` | `{}` | the session ended; the connection is closed |
 * | `superseded` | `{}` | you joined from elsewhere; this connection is closed |
 * | `expired` | `{}` | the token expired; the SDK reconnects, asking `getToken` again |
 * | `reconnecting` | `{reason}` | the connection dropped; socket.io is reconnecting |
 * | `reconnected` | `{}` | back online; the SDK re-joins by itself if you had joined |
 * | `error` | `{code, message}` | something failed that no method call can report |
 * | `turn` | `{status}` | the TURN server's state from `join` / `ice-servers`: `none`, `ok` or `down` |
 * | `quality` | `{participant, level, rtt, loss, jitter, bitrate}` | (clinician) a participant's link |
 * | `mute` | `{muted}` | a tool asks this page to mute or unmute the microphone |
 * | `tool` | `{tools: [{name, title, status, view?, error?}]}` | the running tools as you may see them changed |
 * | `toolmessage` | `{event, payload}` | a tool's own message (`tool:<event>` from the server) |
 * | `program` | `{program, partner, approvals?}` | the program panel's view for your role changed (docs/protocol.md §5) |
 *
 * Connection quality and the pre-call test are in `quality.js` (see `docs/media.md`).
 *
 * Note: the SDK writes nothing to `localStorage`, `sessionStorage` or cookies. What the server
 * says about other people lives only in memory and is gone with the page.
 *
 * @module alongside
 */

import { io as defaultIo } from "../vendor/socket.io.esm.min.js";
import { PeerLink } from "./peer.js";
import { SfuMedia } from "./sfu.js";

/** How long a group page waits before asking an unavailable media server again. */
const SFU_RETRY_MS = 5000;

/** How long any event waits for its answer. */
export const ACK_TIMEOUT_MS = 8000;
/** Signals held for a peer no snapshot has introduced yet; more are dropped. */
const MAX_HELD_SIGNALS = 128;

/**
 * @typedef {{ok: true} & Record<string, any>} OkAnswer
 * @typedef {{ok: false, error: {code: string, message: string}}} RefusedAnswer
 * @typedef {OkAnswer | RefusedAnswer} Answer
 *   Every method answers like the server does, never by throwing. Besides the server's codes,
 *   the SDK itself may answer `E_TIMEOUT` (no answer in {@link ACK_TIMEOUT_MS}) or
 *   `E_DISCONNECTED` (not connected right now).
 */

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {"clinician"|"client"|"partner"} role
 * @property {"online"|"reconnecting"} presence
 * @property {number} epoch
 * @property {boolean} polite
 * @property {boolean} initiator
 *
 * @typedef {object} Snapshot
 * @property {string} id
 * @property {"individual"|"couples"|"group"} kind
 * @property {"sfu"} [media] In a group room: media goes through the SFU (docs/groups.md).
 * @property {string} program
 * @property {number} version
 * @property {"open"|"ended"} status
 * @property {boolean} locked
 * @property {boolean} clinicianPresent
 * @property {{id: string, name: string, role: string, state: "lobby"|"admitted", epoch: number} | null} you
 *   `null` once you are no longer in the room (e.g. a `snapshot` asked for after leaving).
 * @property {Participant[]} participants
 * @property {{id: string, name: string, role: string, since: number, presence?: string}[]} [lobby]
 *   Clinicians only: who is waiting, oldest first; `since` is in seconds since the epoch.
 */

/**
 * A routing key for a room: pass it as the `route` option so that, behind the nginx of
 * `deploy/nginx.conf`, everyone in one room reaches the same replica and their signals never
 * cross Redis. It is a 32-bit FNV-1a hash (hex), so the room id itself stays out of URLs and
 * logs. Only speed depends on it: any replica serves anyone.
 *
 * @param {string} roomId
 * @returns {string}
 */
export function routeFor(roomId) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(String(roomId))) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** An error with a protocol code, as thrown by {@link AlongsideRoom#connect}. */
export class AlongsideError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "AlongsideError";
    /** @type {string} */
    this.code = code;
  }
}

export class AlongsideRoom extends EventTarget {
  #origin;
  #getToken;
  #io;
  #renegotiate;
  /** @type {string | undefined} */
  #route;
  #log;
  /** @type {RTCIceTransportPolicy | undefined} */
  #iceTransportPolicy;
  /** `none` | `ok` | `down` | `unknown` (before join): see the `turn` event. */
  #turn = "unknown";
  /** Sends the local stream's audio only (see {@link AlongsideRoom#setAudioOnly}). */
  #audioOnly = false;
  /** @type {MediaStream | null} */
  #audioOnlyStream = null;
  /** @type {import("../vendor/socket.io.esm.min.js").Socket | null} */
  #socket = null;
  /** @type {Promise<void> | null} */
  #connecting = null;
  #connectedOnce = false;
  #tokenExpired = false;
  #wantJoined = false;
  /** Set once a `join` was answered: links need the `iceServers` it carries. */
  #joined = false;
  /** @type {Snapshot | null} */
  #room = null;
  /** @type {RTCIceServer[]} */
  #iceServers = [];
  /** @type {MediaStream | null} */
  #localStream = null;
  /** @type {Map<string, PeerLink>} */
  #links = new Map();
  /** A group room's media through the SFU (`sfu.js`), while admitted to one. */
  /** @type {SfuMedia | null} */
  #sfu = null;
  /** @type {Map<string, {kind: string, message: any}[]>} */
  #held = new Map();
  /** @type {Promise<void> | null} */
  #snapshotInFlight = null;

  /**
   * @param {object} options
   * @param {string} [options.token] The access token (JWT), if it never changes.
   * @param {() => string | Promise<string>} [options.getToken] Called on every (re)connect;
   *   prefer it to `token` so a reconnect after expiry gets a fresh one.
   * @param {string} [options.origin] The Alongside server; defaults to this page's origin.
   * @param {boolean} [options.renegotiate] `false` only for a peer that cannot renegotiate.
   * @param {(message: string, error?: unknown) => void} [options.log] Where problems that no
   *   caller can act on are reported; defaults to `console.warn`.
   * @param {typeof defaultIo} [options.io] The socket.io client factory (for tests).
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy] `"relay"` sends media only
   *   through the TURN server (to check TURN, or to hide addresses); default `"all"`.
   * @param {string} [options.route] {@link routeFor} of the room id: sent as `r` on the
   *   websocket URL so a load balancer can keep a room on one replica (see docs/deploy.md).
   */
  constructor({ token, getToken, origin, renegotiate, log, io, iceTransportPolicy, route } = {}) {
    super();
    if (typeof getToken === "function") this.#getToken = getToken;
    else if (typeof token === "string" && token) this.#getToken = () => token;
    else throw new TypeError("AlongsideRoom needs a token or a getToken function");
    this.#origin = origin ?? globalThis.location?.origin;
    this.#renegotiate = renegotiate;
    if (typeof route === "string" && /^[0-9a-f]{1,64}$/.test(route)) this.#route = route;
    this.#log = log ?? ((message, error) => console.warn(`[alongside] ${message}`, error ?? ""));
    this.#io = io ?? defaultIo;
    if (iceTransportPolicy === "relay" || iceTransportPolicy === "all") {
      this.#iceTransportPolicy = iceTransportPolicy;
    }
  }

  /** @returns {RTCIceTransportPolicy} */
  get iceTransportPolicy() {
    return this.#iceTransportPolicy ?? "all";
  }

  /** @returns {string} The TURN status from the last `join` or `ice-servers` answer. */
  get turn() {
    return this.#turn;
  }

  /** @returns {Map<string, RTCPeerConnection>} The live link with each peer, by peer id (read `getStats()` here). */
  get peerConnections() {
    if (this.#sfu) return this.#sfu.connections; // a group: one per feed received
    return new Map([...this.#links].map(([id, link]) => [id, link.pc]));
  }

  /** @returns {boolean} Whether only audio is being sent (see {@link AlongsideRoom#setAudioOnly}). */
  get audioOnly() {
    return this.#audioOnly;
  }

  /** @returns {Snapshot | null} The latest snapshot, filtered for you by the server. */
  get snapshot() {
    return this.#room;
  }

  /** @returns {boolean} Whether the socket is connected right now. */
  get connected() {
    return Boolean(this.#socket?.connected);
  }

  /**
   * Opens the socket. Resolves once connected; rejects with an {@link AlongsideError} whose
   * `code` is the server's (`E_TOKEN_EXPIRED`, `E_ROOM_ENDED`, ...) if the handshake is refused.
   * While the server cannot be reached it keeps trying (and emits `reconnecting`).
   *
   * @returns {Promise<void>}
   */
  connect() {
    if (this.#connecting) return this.#connecting;
    const socket = this.#io(this.#origin, {
      transports: ["websocket"],
      autoConnect: false,
      ...(this.#route ? { query: { r: this.#route } } : {}),
      // Called again on every reconnect, so a fresh token is used each time.
      auth: (cb) => {
        Promise.resolve()
          .then(() => this.#getToken())
          .then(
            (token) => cb({ token }),
            (err) => {
              this.#log("getToken failed", err);
              cb({});
            },
          );
      },
    });
    this.#socket = socket;
    this.#wire(socket);
    this.#connecting = new Promise((resolve, reject) => {
      const settle = (err) => {
        socket.off("connect", onConnect);
        socket.off("connect_error", onRefused);
        if (!err) return resolve();
        this.#dropSocket();
        reject(err);
      };
      const onConnect = () => settle(null);
      const onRefused = (err) => {
        if (!socket.active) settle(toError(err));
      };
      socket.on("connect", onConnect);
      socket.on("connect_error", onRefused);
    });
    socket.connect();
    return this.#connecting;
  }

  /**
   * Joins the room: the clinician opens it, anyone else knocks (`you.state` is then `lobby`
   * until admitted). Re-joins by itself after a reconnect until you `leave()`.
   *
   * @returns {Promise<Answer>} `{ok: true, you, room, iceServers}` on success.
   */
  async join() {
    this.#wantJoined = true;
    const answer = await this.#ask("join", this.#renegotiate === false ? { renegotiate: false } : {});
    if (!answer.ok) {
      if (!["E_TIMEOUT", "E_DISCONNECTED"].includes(answer.error.code)) this.#wantJoined = false;
      return answer;
    }
    this.#iceServers = Array.isArray(answer.iceServers) ? answer.iceServers : [];
    this.#noteTurn(answer.turn);
    this.#joined = true;
    this.#applyRoom(answer.room, { force: true });
    return answer;
  }

  /**
   * Leaves at once and closes the connection. `connect()` and `join()` again to come back.
   *
   * @returns {Promise<Answer>}
   */
  async leave() {
    this.#wantJoined = false;
    const answer = this.connected ? await this.#ask("leave") : { ok: true };
    this.#closeLinks();
    this.#dropSocket();
    return answer;
  }

  /** Asks for a fresh snapshot (also emitted as `room`). @returns {Promise<Answer>} */
  async requestSnapshot() {
    const answer = await this.#ask("snapshot");
    if (answer.ok) this.#applyRoom(answer.room, { fromSnapshot: true });
    return answer;
  }

  /** Clinician: let a waiting person in. @param {string} id @returns {Promise<Answer>} */
  admit(id) {
    return this.#control("admit", { participant: id });
  }

  /** Clinician: let everyone waiting in, in the order they knocked. @returns {Promise<Answer>} */
  admitAll() {
    return this.#control("admit-all", {});
  }

  /**
   * Clinician: do not let a waiting person in; they may knock again.
   *
   * @param {string} id
   * @param {string} [reason] Shown to them; at most 200 characters.
   * @returns {Promise<Answer>}
   */
  deny(id, reason) {
    return this.#control("deny", reason ? { participant: id, reason } : { participant: id });
  }

  /**
   * Clinician: remove someone; they cannot rejoin this room.
   *
   * @param {string} id
   * @param {string} [reason]
   * @returns {Promise<Answer>}
   */
  remove(id, reason) {
    return this.#control("remove", reason ? { participant: id, reason } : { participant: id });
  }

  /** Clinician: move an admitted person back to the lobby. @param {string} id @returns {Promise<Answer>} */
  sendBack(id) {
    return this.#control("send-back", { participant: id });
  }

  /** Clinician: stop (or allow) new knocks. @param {boolean} locked @returns {Promise<Answer>} */
  lock(locked) {
    return this.#control("lock", { locked: Boolean(locked) });
  }

  /** Clinician: end the session for everyone. @returns {Promise<Answer>} */
  async end() {
    // The server sends `ended` to us too, before its answer; closing the socket on it would
    // fail the pending answer, so an `ended` seen meanwhile counts as success.
    let ended = false;
    const onEnded = () => {
      ended = true;
    };
    this.addEventListener("ended", onEnded);
    const answer = await this.#ask("end");
    this.removeEventListener("ended", onEnded);
    if (ended) return { ok: true };
    if (answer.ok) this.#finish("ended", {});
    return answer;
  }

  /**
   * Sets what we send to every peer, now and later; `null` sends nothing. Replacing a stream
   * swaps tracks in place where it can, so it needs no renegotiation.
   *
   * @param {MediaStream | null} stream
   */
  setLocalStream(stream) {
    this.#localStream = stream;
    this.#audioOnlyStream = null;
    this.#sendLocal();
  }

  /**
   * Sends only the microphone (`true`) or the whole local stream again (`false`), to every peer
   * now and later. The camera is not stopped (the preview stays); video senders send nothing, so
   * a weak link carries audio alone. No renegotiation is needed either way.
   *
   * @param {boolean} on
   */
  setAudioOnly(on) {
    this.#audioOnly = Boolean(on);
    this.#sendLocal();
  }

  /**
   * Sends any other client event (`precall`, `quality`, tool events, group controls, ...) and
   * resolves with its answer. Signaling is the SDK's own: `offer`, `answer` and `candidate`
   * are refused here. An answer carrying `room` (the caller's snapshot after their own change,
   * e.g. a group control) is applied and emitted as `room`, as a clinician action's is.
   *
   * @param {string} event
   * @param {object} [payload]
   * @returns {Promise<Answer>}
   */
  request(event, payload = {}) {
    if (["offer", "answer", "candidate"].includes(event)) {
      return Promise.resolve(refused("E_UNKNOWN_EVENT", `${event} is sent by the SDK itself.`));
    }
    return this.#control(event, payload);
  }

  /** What the links send: the local stream, or its audio only. */
  #sending() {
    const stream = this.#localStream;
    if (!stream || !this.#audioOnly) return stream;
    this.#audioOnlyStream ??= new MediaStream(stream.getAudioTracks());
    return this.#audioOnlyStream;
  }

  #sendLocal() {
    const sending = this.#sending();
    for (const link of this.#links.values()) link.setLocalStream(sending);
    this.#sfu?.setLocalStream(sending);
  }

  /** @param {unknown} status */
  #noteTurn(status) {
    if (typeof status !== "string" || status === this.#turn) return;
    this.#turn = status;
    this.#emit("turn", { status });
  }

  // --- socket wiring -----------------------------------------------------------------------

  /** @param {import("../vendor/socket.io.esm.min.js").Socket} socket */
  #wire(socket) {
    socket.on("connect", () => {
      if (this.#connectedOnce) {
        this.#emit("reconnected", {});
        if (this.#wantJoined) this.#rejoin();
      }
      this.#connectedOnce = true;
    });
    socket.on("disconnect", (reason) => this.#onDisconnect(socket, reason));
    socket.on("connect_error", (err) => {
      // Refused after having been connected (e.g. the room ended while we were away); the
      // first refusal is connect()'s to report.
      if (!socket.active && this.#connectedOnce) this.#lostRoom(toError(err));
    });

    socket.on("room", (snapshot) => this.#applyRoom(snapshot, {}));
    socket.on("presence", (detail) => this.#emit("presence", detail ?? {}));
    socket.on("admitted", (detail) => {
      // The protocol says `{room}`; a bare `{}` works too, as a `room` event follows.
      this.#applyRoom(detail?.room, { fromSnapshot: true });
      this.#emit("admitted", {});
    });
    socket.on("denied", (detail) => {
      this.#wantJoined = false;
      this.#closeLinks();
      this.#emit("denied", { reason: detail?.reason ?? "", code: detail?.code ?? "E_DENIED" });
    });
    socket.on("sent-back", () => {
      // Stop media at once; the snapshot that follows says the same.
      this.#closeLinks();
      this.#emit("sentback", {});
    });
    socket.on("removed", (detail) => this.#finish("removed", {
      reason: detail?.reason ?? "", code: detail?.code ?? "E_REMOVED" }));
    socket.on("ended", () => this.#finish("ended", {}));
    socket.on("superseded", () => this.#finish("superseded", {}));
    socket.on("quality", (detail) => this.#emit("quality", detail ?? {}));
    socket.on("mute", (detail) => this.#emit("mute", { muted: Boolean(detail?.muted) }));
    socket.on("program", (detail) => this.#emit("program", detail ?? {}));
    // In-session tools (docs/plugins.md): ask with `request("tools" | "tool:start" | ...)`.
    socket.on("tool", (detail) => {
      this.#emit("tool", { tools: Array.isArray(detail?.tools) ? detail.tools : [] });
    });
    socket.onAny((event, detail) => {
      if (typeof event === "string" && event.startsWith("tool:")) {
        this.#emit("toolmessage", { event: event.slice("tool:".length), payload: detail ?? {} });
      }
    });
    // A group room's media (docs/groups.md): offers for each feed, and feeds that ended.
    socket.on("sfu.offer", (message) => this.#sfu?.handleOffer(message));
    socket.on("sfu.gone", (message) => this.#sfu?.handleGone(message));
    socket.on("sfu.republish", () => {
      this.#sfu?.handleRepublish().catch((err) => this.#log("sfu.publish failed", err));
    });
    socket.on("expired", () => {
      this.#tokenExpired = true;
      this.#emit("expired", {});
    });
    for (const kind of ["offer", "answer", "candidate"]) {
      socket.on(kind, (message) => this.#onSignal(kind, message));
    }
  }

  /**
   * @param {import("../vendor/socket.io.esm.min.js").Socket} socket
   * @param {string} reason
   */
  #onDisconnect(socket, reason) {
    if (socket !== this.#socket || reason === "io client disconnect") return;
    if (socket.active) {
      // socket.io reconnects by itself; links stay up meanwhile (media is peer to peer).
      this.#emit("reconnecting", { reason });
      return;
    }
    if (this.#tokenExpired) {
      this.#tokenExpired = false;
      this.#emit("reconnecting", { reason });
      socket.connect();
      return;
    }
    // The server closed the connection and said nothing we know about.
    this.#wantJoined = false;
    this.#closeLinks();
    this.#dropSocket();
    this.#emit("error", { code: "E_DISCONNECTED", message: "The connection to the session was closed." });
  }

  async #rejoin() {
    // We have a new epoch now: every peer drops its link with us, so we drop ours too.
    this.#closeLinks({ quiet: true });
    this.#joined = false;
    const answer = await this.join();
    if (!answer.ok) this.#lostRoom(answer.error);
  }

  /**
   * Coming back was refused. An end or a removal we missed while away is reported as if we had
   * been there (`ended`, `removed`); anything else as `error`.
   *
   * @param {{code: string, message: string}} error
   */
  #lostRoom({ code, message }) {
    if (code === "E_ROOM_ENDED") return this.#finish("ended", {});
    if (code === "E_REMOVED") return this.#finish("removed", { reason: "" });
    this.#wantJoined = false;
    this.#closeLinks();
    this.#dropSocket();
    this.#emit("error", { code, message });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #finish(type, detail) {
    this.#wantJoined = false;
    this.#closeLinks();
    this.#dropSocket();
    this.#emit(type, detail);
  }

  #dropSocket() {
    const socket = this.#socket;
    this.#socket = null;
    this.#connecting = null;
    this.#connectedOnce = false;
    this.#tokenExpired = false;
    this.#joined = false;
    this.#snapshotInFlight = null;
    this.#held.clear();
    if (socket) {
      socket.off();
      socket.disconnect();
    }
  }

  // --- room state --------------------------------------------------------------------------

  /**
   * @param {Snapshot | undefined} snapshot
   * @param {{force?: boolean, fromSnapshot?: boolean}} how `force` applies it even if not newer
   *   (the answer to `join`); `fromSnapshot` skips gap detection (answers carrying a room).
   */
  #applyRoom(snapshot, { force = false, fromSnapshot = false }) {
    if (!snapshot || typeof snapshot !== "object" || typeof snapshot.version !== "number") return;
    const current = this.#room;
    const sameRoom = current && current.id === snapshot.id;
    if (sameRoom && !force && snapshot.version <= current.version) return;
    if (sameRoom && !force && !fromSnapshot && snapshot.version > current.version + 1) {
      // Each snapshot is whole, so apply this one, but the protocol asks to resync after a gap.
      this.#resync();
    }
    this.#room = snapshot;
    this.#reconcileLinks();
    this.#emit("room", snapshot);
  }

  #resync() {
    if (this.#snapshotInFlight || !this.#joined) return;
    this.#snapshotInFlight = this.requestSnapshot()
      .then(() => {})
      .finally(() => {
        this.#snapshotInFlight = null;
      });
  }

  /** Makes the set of links match the admitted peers of the latest snapshot. */
  #reconcileLinks() {
    const room = this.#room;
    const inRoom = this.#joined && room?.status === "open" && room.you?.state === "admitted";
    if (room?.media === "sfu") {
      // A group: no link between people; everyone's media goes through the SFU.
      if (inRoom && !this.#sfu) this.#startSfu();
      if (!inRoom) this.#stopSfu();
      return;
    }
    /** @type {Map<string, Participant>} */
    const wanted = new Map();
    if (inRoom) for (const p of room.participants ?? []) wanted.set(p.id, p);
    for (const [id, link] of this.#links) {
      const peer = wanted.get(id);
      if (peer && peer.epoch === link.epoch) continue;
      link.close();
      this.#links.delete(id);
      if (!peer) this.#emit("peerleft", { peerId: id });
    }
    for (const peer of wanted.values()) {
      if (!this.#links.has(peer.id)) this.#openLink(peer);
    }
  }

  /** @param {Participant} peer */
  #openLink(peer) {
    const link = new PeerLink({
      id: peer.id,
      epoch: peer.epoch,
      polite: Boolean(peer.polite),
      initiator: Boolean(peer.initiator),
      iceServers: this.#iceServers,
      localStream: this.#sending(),
      send: (event, payload) => this.#relay(event, { to: peer.id, ...payload }),
      onTrack: (from, track) => {
        if (this.#links.get(from.id) === from) {
          this.#emit("track", { peerId: from.id, stream: from.stream, track });
        }
      },
      onFailed: (from) => this.#restartIce(from),
      log: this.#log,
    });
    if (this.#iceTransportPolicy) {
      // Before the first offer or answer, so the first gathering already follows it.
      link.pc.setConfiguration({ ...link.pc.getConfiguration(), iceTransportPolicy: this.#iceTransportPolicy });
    }
    this.#links.set(peer.id, link);
    const held = this.#held.get(peer.id) ?? [];
    this.#held.delete(peer.id);
    for (const { kind, message } of held) this.#onSignal(kind, message);
  }

  #startSfu() {
    const sfu = new SfuMedia({
      ask: (event, payload) => this.#ask(event, payload),
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#iceTransportPolicy,
      localStream: this.#sending(),
      onTrack: (feed, stream, track) => {
        if (this.#sfu === sfu) this.#emit("track", { peerId: feed, stream, track });
      },
      onGone: (feed) => {
        if (this.#sfu === sfu) this.#emit("peerleft", { peerId: feed });
      },
      log: this.#log,
      onRefused: (code) => {
        if (this.#sfu !== sfu) return;
        this.#emit("media", { status: code === null ? "ok" : "unavailable", code });
        // The media server may come back (a restart): try again while this page is in.
        if (code === "E_SFU_UNAVAILABLE") {
          setTimeout(() => {
            if (this.#sfu === sfu) sfu.start().catch((err) => this.#log("group media did not start", err));
          }, SFU_RETRY_MS);
        }
      },
    });
    this.#sfu = sfu;
    sfu.start().catch((err) => this.#log("group media did not start", err));
  }

  /** @param {{quiet?: boolean}} [options] */
  #stopSfu({ quiet = false } = {}) {
    const sfu = this.#sfu;
    if (!sfu) return;
    this.#sfu = null;
    for (const feed of sfu.close()) if (!quiet) this.#emit("peerleft", { peerId: feed });
  }

  /** @param {{quiet?: boolean}} [options] `quiet` emits no `peerleft` (links come back). */
  #closeLinks({ quiet = false } = {}) {
    this.#stopSfu({ quiet });
    for (const [id, link] of this.#links) {
      link.close();
      if (!quiet) this.#emit("peerleft", { peerId: id });
    }
    this.#links.clear();
    this.#held.clear();
  }

  // --- signaling ---------------------------------------------------------------------------

  /**
   * @param {string} kind `offer` | `answer` | `candidate`
   * @param {any} message `{from, epoch, sdp}` or `{from, epoch, candidate}`
   */
  #onSignal(kind, message) {
    if (!message || typeof message.from !== "string") return;
    const link = this.#links.get(message.from);
    // Signals carry the sender's epoch: one for a connection we no longer know is dropped, one
    // for a connection our snapshot does not show yet is held until a snapshot does.
    const epoch = typeof message.epoch === "number" ? message.epoch : undefined;
    if (link && (epoch === undefined || epoch === link.epoch)) {
      this.#deliver(link, kind, message);
      return;
    }
    if (link && epoch !== undefined && epoch < link.epoch) return;
    // A peer our snapshot does not show yet: hold its signals until one does.
    const held = this.#held.get(message.from) ?? [];
    if (held.length < MAX_HELD_SIGNALS) held.push({ kind, message });
    this.#held.set(message.from, held);
    this.#resync();
  }

  /**
   * @param {PeerLink} link
   * @param {string} kind
   * @param {any} message
   */
  #deliver(link, kind, message) {
    if (kind === "candidate") {
      link.handleCandidate(message.candidate ?? null);
    } else if (typeof message.sdp === "string") {
      link.handleDescription({ type: kind === "offer" ? "offer" : "answer", sdp: message.sdp });
    }
  }

  /**
   * @param {string} event
   * @param {object} payload
   */
  #relay(event, payload) {
    this.#ask(event, payload).then((answer) => {
      if (!answer.ok) this.#log(`${event} to ${payload.to} refused: ${answer.error.code}`);
    });
  }

  /** @param {PeerLink} link */
  async #restartIce(link) {
    const answer = await this.#ask("ice-servers");
    if (this.#links.get(link.id) !== link) return;
    if (answer.ok && Array.isArray(answer.iceServers)) this.#iceServers = answer.iceServers;
    if (answer.ok) this.#noteTurn(answer.turn);
    link.restartIce(this.#iceServers);
  }

  // --- plumbing ----------------------------------------------------------------------------

  /**
   * A clinician action: its answer carries the room as it now is, and the server sends the
   * actor no `room` event for its own change, so the answer's snapshot is applied here.
   *
   * @param {string} event
   * @param {object} payload
   * @returns {Promise<Answer>}
   */
  async #control(event, payload) {
    const answer = await this.#ask(event, payload);
    if (answer.ok && answer.room) this.#applyRoom(answer.room, { fromSnapshot: true });
    return answer;
  }

  /**
   * Emits `event` and waits for its answer.
   *
   * @param {string} event
   * @param {object} [payload]
   * @returns {Promise<Answer>}
   */
  async #ask(event, payload = {}) {
    const socket = this.#socket;
    if (!socket?.connected) {
      return refused("E_DISCONNECTED", "Not connected to the session right now.");
    }
    let answer;
    try {
      answer = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      // socket.io fails pending answers at once when the socket closes.
      return socket.connected
        ? refused("E_TIMEOUT", "The session did not answer in time.")
        : refused("E_DISCONNECTED", "The connection closed before the session answered.");
    }
    if (answer && typeof answer === "object" && typeof answer.ok === "boolean") return answer;
    return refused("E_INTERNAL", "The session sent an answer this page does not understand.");
  }

  /**
   * @param {string} type
   * @param {any} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * @param {string} code
 * @param {string} message
 * @returns {RefusedAnswer}
 */
function refused(code, message) {
  return { ok: false, error: { code, message } };
}

/**
 * A socket.io `connect_error` as an {@link AlongsideError}: the server puts the code in
 * `message` and `{code, message}` in `data`.
 *
 * @param {any} err
 * @returns {AlongsideError}
 */
function toError(err) {
  const data = err?.data && typeof err.data === "object" ? err.data : {};
  const code = typeof data.code === "string" ? data.code : String(err?.message || "E_DISCONNECTED");
  const known = /^E_[A-Z_]+$/.test(code);
  const message =
    typeof data.message === "string"
      ? data.message
      : known
        ? "The session refused the connection."
        : "The session could not be reached.";
  return new AlongsideError(known ? code : "E_DISCONNECTED", message);
}
