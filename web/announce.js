// Announcements on the session page: a knock, an admission, a drop and a return, read out
// politely in the page's live region (`<p data-announce role="status" aria-live="polite">`).
// For the clinician also the tab title ("(1) waiting · Session · Alongside") and, if they keep
// it on, a short soft sound for a knock.
//
//   import { Announcer } from "./announce.js";
//   const announcer = new Announcer({ region, lobby });   // after useLocale()
//   announcer.follow(snapshot);   // each snapshot while the person is in the session
//   announcer.presence(detail);   // each SDK `presence` event while in the session
//   announcer.reset();            // out of the session (left, sent back, ended)
//
// What is announced comes only from what the server already sends this person: each role's
// snapshot is filtered on the server (docs/protocol.md), so only a clinician's snapshot has a
// lobby, and only a clinician ever hears a knock or a waiting person's name. Everyone in the
// session hears who joins, whose connection drops, who comes back and who leaves, as their own
// tiles show it. Nothing here is sent anywhere or stored, except the clinician's choice of
// sound (a boolean in localStorage).
//
// Note: announcements compare one snapshot with the previous one, so the first snapshot after
// joining sets the baseline silently, apart from the people already waiting (the clinician
// needs to hear those).

import { t } from "./i18n.js";

/** localStorage key of the clinician's knock-sound choice ("true" / "false"). */
export const SOUND_KEY = "alongside.knockSound";
/** The knock sound is on until the clinician turns it off: a knock must not go unnoticed. */
const SOUND_DEFAULT = true;
/** Announcements made within this many ms of each other are read as one. */
const GATHER_MS = 120;

/**
 * @typedef {{name: string, where: "lobby" | "room", presence: string}} Known
 */

export class Announcer {
  /**
   * @param {object} options
   * @param {HTMLElement | null} options.region the polite live region
   * @param {HTMLElement | null} options.lobby the clinician's waiting-room section (the sound
   *   toggle goes under its heading)
   */
  constructor({ region, lobby }) {
    this.region = region;
    this.lobby = lobby;
    /** The page's own title, as translated (the waiting count goes in front of it). */
    this.title = document.title;
    /** @type {Map<string, Known>} */
    this.people = new Map();
    this.baseline = false;
    this.clinician = false;
    /** @type {string[]} */
    this.queue = [];
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {AudioContext | null} */
    this.audio = null;
    /** @type {HTMLInputElement | null} */
    this.soundBox = null;
  }

  /**
   * Compares a snapshot with the last one and says what changed for this person.
   * @param {import("./sdk/alongside.js").Snapshot & Record<string, any>} snap
   */
  follow(snap) {
    this.clinician = snap.you?.role === "clinician";
    if (this.clinician) this.mountSound();
    /** @type {Map<string, Known>} */
    const next = new Map();
    for (const p of this.clinician ? snap.lobby ?? [] : []) {
      next.set(p.id, { name: p.name, where: "lobby", presence: p.presence ?? "online" });
    }
    for (const p of snap.participants ?? []) {
      next.set(p.id, { name: p.name, where: "room", presence: p.presence ?? "online" });
    }
    // People in another side room: the snapshot says who they are with, not their presence;
    // that comes in `presence` events.
    for (const p of snap.away ?? []) {
      const known = this.people.get(p.id);
      next.set(p.id, { name: p.name, where: "room", presence: known?.presence ?? "online" });
    }

    let knocks = 0;
    for (const [id, now] of next) {
      const before = this.people.get(id);
      if (!before) {
        if (now.where === "lobby") {
          knocks += 1;
          this.say(t("room.announce.knock", { name: now.name }));
        } else if (this.baseline) {
          this.say(t("room.announce.joined", { name: now.name }));
        }
        continue;
      }
      if (before.where === "lobby" && now.where === "room") {
        this.say(t("room.announce.admitted", { name: now.name }));
      } else if (before.where === "room" && now.where === "lobby") {
        this.say(t("room.announce.backInLobby", { name: now.name }));
      }
      if (before.presence !== now.presence) this.sayPresence(now.name, now.presence);
    }
    for (const [id, before] of this.people) {
      if (next.has(id)) continue;
      this.say(t(before.where === "lobby" ? "room.announce.noLongerWaiting" : "room.announce.left",
        { name: before.name }));
    }
    this.people = next;
    this.baseline = true;
    if (knocks > 0) this.chime();
    this.showCount(this.clinician ? (snap.lobby ?? []).length : 0);
  }

  /**
   * A peer's connection dropped or came back (the SDK's `presence` event). It comes before
   * the snapshot that shows it, and is the only word on people in another side room.
   * @param {{participant?: string, status?: string}} detail
   */
  presence({ participant, status }) {
    const known = participant ? this.people.get(participant) : undefined;
    if (!known) return; // someone new: the snapshot names them
    const presence = status === "reconnecting" ? "reconnecting" : status === "joined" ? "online" : "";
    if (!presence || presence === known.presence) return;
    known.presence = presence;
    this.sayPresence(known.name, presence);
  }

  /** Out of the session: nothing more to compare, the title back as it was. */
  reset() {
    this.people.clear();
    this.baseline = false;
    this.showCount(0);
  }

  // --- saying it ------------------------------------------------------------------------------

  /** @param {string} name @param {string} presence */
  sayPresence(name, presence) {
    this.say(t(presence === "reconnecting" ? "room.announce.dropped" : "room.announce.back", { name }));
  }

  /**
   * Queues one sentence for the live region. Sentences close together are read as one, and
   * the region is emptied first so that the same words twice are read twice.
   * @param {string} text
   */
  say(text) {
    if (!this.region) return;
    this.queue.push(text);
    if (this.timer !== undefined) return;
    this.region.textContent = "";
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.region) this.region.textContent = this.queue.join(" ");
      this.queue = [];
    }, GATHER_MS);
  }

  /** @param {number} count people waiting (the clinician's lobby) */
  showCount(count) {
    const title = count > 0 ? t("room.title.waiting", { count, title: this.title }) : this.title;
    if (document.title !== title) document.title = title;
  }

  // --- the knock sound ------------------------------------------------------------------------

  /** The clinician's "Sound when someone knocks" checkbox, under the waiting room's heading. */
  mountSound() {
    if (this.soundBox || !this.lobby) return;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = "knock-sound";
    box.checked = soundOn();
    box.addEventListener("change", () => {
      remember(box.checked);
      if (box.checked) this.chime(); // so the clinician hears what they chose
    });
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = t("room.sound.label");
    const field = document.createElement("p");
    field.className = "knock-sound";
    field.append(box, " ", label);
    const heading = this.lobby.querySelector("h2");
    if (heading) heading.after(field);
    else this.lobby.prepend(field);
    this.soundBox = box;
  }

  /**
   * A short, quiet two-tone chime from a Web Audio oscillator (no audio file). Only after the
   * person has used the page (Join), which browsers require before any sound.
   */
  chime() {
    if (!this.clinician || !(this.soundBox?.checked ?? soundOn())) return;
    const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!Context) return;
    try {
      this.audio ??= new Context();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
      const at = this.audio.currentTime + 0.02;
      const gain = this.audio.createGain();
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.06, at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.5);
      gain.connect(this.audio.destination);
      const tone = this.audio.createOscillator();
      tone.type = "sine";
      tone.frequency.setValueAtTime(660, at);
      tone.frequency.setValueAtTime(880, at + 0.16);
      tone.connect(gain);
      tone.start(at);
      tone.stop(at + 0.52);
      tone.addEventListener("ended", () => gain.disconnect());
    } catch {
      // no sound this time: the live region and the title still say it
    }
  }
}

function soundOn() {
  try {
    const stored = localStorage.getItem(SOUND_KEY);
    return stored === null ? SOUND_DEFAULT : stored === "true";
  } catch {
    return SOUND_DEFAULT;
  }
}

/** @param {boolean} on */
function remember(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "true" : "false");
  } catch {
    // storage may be off: the choice lasts as long as the page
  }
}
