/**
 * A group room's media through the SFU (docs/groups.md): one connection sending our stream up,
 * and one connection per feed the server offers us. Used by `alongside.js` when a snapshot says
 * `media: "sfu"`; a page sees the same `track` and `peerleft` events as in a peer-to-peer room,
 * with the feed's participant id as `peerId`.
 *
 * Descriptions are sent once ICE gathering is complete (with every candidate inside), never
 * trickled: a group means many connections, and each `sfu.trickle` would cost a token of the
 * connection's rate limit.
 *
 * Caveat: a stream set after publishing swaps tracks of the kinds first published (audio only
 * sends no video); a kind the first stream lacked is sent only after the next publish (a
 * reconnect). A stream set before there was any is published then.
 *
 * @module alongside/sfu
 */

/** How long to wait for ICE gathering before sending a description anyway. */
const GATHER_WAIT_MS = 3000;

/**
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>}
 */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, GATHER_WAIT_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

/**
 * @typedef {object} SfuOptions
 * @property {(event: string, payload: object) => Promise<any>} ask Sends one event, resolves
 *   with its answer (`{ok, ...}`), never rejects.
 * @property {RTCIceServer[]} iceServers From the `join` answer.
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]
 * @property {MediaStream|null} localStream What to publish (nothing: receive only).
 * @property {(feed: string, stream: MediaStream, track: MediaStreamTrack) => void} onTrack
 * @property {(feed: string) => void} onGone
 * @property {(message: string, error?: unknown) => void} log
 * @property {(code: string | null) => void} [onRefused] A `sfu.publish` or `sfu.subscribe`
 *   refusal's code (e.g. `E_SFU_UNAVAILABLE`: the media server is down), or `null` once both
 *   went through again.
 */

export class SfuMedia {
  #o;
  /** @type {RTCPeerConnection | null} */
  #publication = null;
  /** @type {Map<string, {pc: RTCPeerConnection, stream: MediaStream}>} */
  #feeds = new Map();
  #closed = false;
  #started = false;
  /** @type {string | null} */
  #refused = null;
  #publishing = false;
  /** @type {MediaStream | null} */
  #stream;
  /** The kind each of our senders sends (a sender's track may be null after replaceTrack). */
  /** @type {WeakMap<RTCRtpSender, string>} */
  #kinds = new WeakMap();

  /** @param {SfuOptions} options */
  constructor(options) {
    this.#o = options;
    this.#stream = options.localStream;
  }

  /** @returns {Map<string, RTCPeerConnection>} The connection of each feed received, by feed. */
  get connections() {
    return new Map([...this.#feeds].map(([feed, { pc }]) => [feed, pc]));
  }

  /** @returns {RTCPeerConnection | null} The connection sending our stream. */
  get publication() {
    return this.#publication;
  }

  #newPc() {
    const config = { iceServers: this.#o.iceServers };
    if (this.#o.iceTransportPolicy) config.iceTransportPolicy = this.#o.iceTransportPolicy;
    return new RTCPeerConnection(config);
  }

  /** Publishes our stream (if any), then asks for the others' feeds. */
  async start() {
    this.#started = true;
    this.#refused = null;
    await this.#publish();
    if (this.#closed) return;
    const subscribed = await this.#o.ask("sfu.subscribe", {});
    if (!subscribed.ok) {
      this.#o.log(`sfu.subscribe refused: ${subscribed.error.code}`);
      this.#refused ??= subscribed.error.code;
    }
    this.#o.onRefused?.(this.#refused);
  }


  /**
   * What we send from now on (see the caveat above); `null` sends nothing.
   *
   * @param {MediaStream | null} stream
   */
  setLocalStream(stream) {
    this.#stream = stream;
    const pc = this.#publication;
    if (pc) {
      for (const sender of pc.getSenders()) {
        const kind = this.#kinds.get(sender);
        const track = stream?.getTracks().find((t) => t.kind === kind) ?? null;
        sender.replaceTrack(track).catch((err) => this.#o.log("replaceTrack failed", err));
      }
    } else if (this.#started) {
      this.#publish().catch((err) => this.#o.log("sfu.publish failed", err));
    }
  }

  async #publish() {
    const stream = this.#stream;
    if (this.#publication || this.#publishing || !stream || stream.getTracks().length === 0) return;
    this.#publishing = true;
    try {
      const pc = this.#newPc();
      for (const track of stream.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        this.#kinds.set(transceiver.sender, track.kind);
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (this.#closed) return pc.close();
      const answer = await this.#o.ask("sfu.publish", { sdp: pc.localDescription.sdp });
      if (this.#closed) return pc.close();
      if (!answer.ok) {
        this.#o.log(`sfu.publish refused: ${answer.error.code}`);
        this.#refused = answer.error.code;
        return pc.close();
      }
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      this.#publication = pc;
    } finally {
      this.#publishing = false;
    }
  }

  /** The server's offer for one feed: `{feed, sdp}`. */
  async handleOffer(message) {
    if (this.#closed || typeof message?.feed !== "string" || typeof message.sdp !== "string") return;
    const { feed } = message;
    this.#drop(feed);
    const pc = this.#newPc();
    const stream = new MediaStream();
    this.#feeds.set(feed, { pc, stream });
    pc.addEventListener("track", (event) => {
      if (this.#feeds.get(feed)?.pc !== pc) return;
      stream.addTrack(event.track);
      this.#o.onTrack(feed, stream, event.track);
    });
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
    } catch (err) {
      this.#o.log(`the offer for ${feed} failed`, err);
      return;
    }
    if (this.#feeds.get(feed)?.pc !== pc) return;
    const answer = await this.#o.ask("sfu.answer", { feed, sdp: pc.localDescription.sdp });
    if (!answer.ok) this.#o.log(`sfu.answer for ${feed} refused: ${answer.error.code}`);
  }

  /**
   * The server moved us to another media room (a breakout, docs/groups.md): publish again
   * there with a fresh offer. The feeds of the new place come as `sfu.offer`; the old ones
   * went with `sfu.gone`.
   */
  async handleRepublish() {
    if (this.#closed || !this.#started) return;
    this.#publication?.close();
    this.#publication = null;
    await this.#publish();
  }

  /** A feed ended: `{feed}`. */
  handleGone(message) {
    if (typeof message?.feed !== "string" || !this.#feeds.has(message.feed)) return;
    this.#drop(message.feed);
    this.#o.onGone(message.feed);
  }

  #drop(feed) {
    const held = this.#feeds.get(feed);
    if (!held) return;
    held.pc.close();
    this.#feeds.delete(feed);
  }

  /**
   * Closes every connection (the server notices and tells the others).
   *
   * @returns {string[]} The feeds that were being received.
   */
  close() {
    this.#closed = true;
    const feeds = [...this.#feeds.keys()];
    for (const feed of feeds) this.#drop(feed);
    this.#publication?.close();
    this.#publication = null;
    return feeds;
  }
}
