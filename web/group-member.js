// What a group member's page shows of the clinician's controls (docs/groups.md, "The group
// page"): muted by the clinician, asked to unmute (an Unmute button, never automatic), focus
// mode, the spotlight, video turned off, and being in a breakout with whom and back. group.js
// hands it each snapshot; everything comes from the member's own `group` view, which the server
// filters (a member never learns whether another member is muted or allowed).
//
//   const notes = mountGroupMember({ room });
//   notes.follow(snapshot);   // each group snapshot while the person is in the session
//   notes.reset();            // out of the session
//
// Each change is also said once in the page's polite live region (`[data-announce]`).
//
// Caveat: the microphone is silenced on the page (its audio track disabled) while the
// clinician's block holds, so nobody wonders whether they are heard; the block itself is at
// the media server, and lifting it here (Unmute, once asked) turns the track back on. The
// spotlight marks a tile everyone sees; in focus mode the tiles of members this person no
// longer receives are hidden (the server closed their feeds).

import { errorText, locale, t } from "./i18n.js";

/**
 * Marks the spotlit tile, larger and outlined, on anyone's page (the local tile when it is
 * you); none when `id` is null. group.js calls it for each snapshot, group-controls.js after a
 * clinician's control (the actor gets their snapshot in the answer, not as a broadcast).
 *
 * @param {string | null | undefined} id
 * @param {string | undefined} youId
 */
export function markSpotlight(id, youId) {
  for (const tile of document.querySelectorAll("[data-spotlit]")) tile.removeAttribute("data-spotlit");
  if (!id) return;
  const tile = id === youId ? document.querySelector(".tile-local")
    : document.querySelector(`[data-tiles] figure[data-peer="${CSS.escape(id)}"]`);
  tile?.setAttribute("data-spotlit", "");
}

/** How often, in focus mode, the page looks again at which tiles still carry a video. */
const FOCUS_CHECK_MS = 1000;

/**
 * @param {object} options
 * @param {import("./sdk/alongside.js").AlongsideRoom} options.room
 */
export function mountGroupMember({ room }) {
  const region = document.querySelector("[data-announce]");
  const tiles = document.querySelector("[data-tiles]");
  const stage = document.querySelector(".stage");
  /** @type {HTMLElement | null} */
  let box = null;
  /** What was last shown, to announce changes only. */
  let was = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let focusTimer;

  const say = (text) => {
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50);  // a change is read, even twice the same
  };

  const localAudio = (on) => {
    const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(".tile-local video"));
    const stream = /** @type {MediaStream | null} */ (video?.srcObject ?? null);
    for (const track of stream?.getAudioTracks?.() ?? []) track.enabled = on;
  };

  function ensureBox() {
    if (box) return box;
    box = document.createElement("section");
    box.className = "group-member-notes";
    box.dataset.groupMember = "";
    box.setAttribute("aria-label", t("groupmember.title"));
    stage?.before(box);
    return box;
  }

  function note(key, params = {}) {
    const p = document.createElement("p");
    p.dataset.note = key.split(".").pop();
    p.textContent = t(key, params);
    return p;
  }

  /** @param {object} snap */
  function follow(snap) {
    const g = snap.group;
    const you = snap.you;
    if (!g || !you || you.role === "clinician" || you.state !== "admitted") {
      reset();
      return;
    }
    const names = new Map((snap.participants ?? []).map((p) => [p.id, p.name]));
    const pair = Array.isArray(g.breakout) ? g.breakout.map((id) => names.get(id) ?? "") : null;
    const now = {
      muted: Boolean(g.muted), asked: Boolean(g.muted && g.asked), focus: Boolean(g.focus),
      videoOff: Boolean(g.videoOff), allowed: Boolean(g.focus && g.videoAllowed),
      spotlight: g.spotlight ?? null, pair: pair ? new Intl.ListFormat(locale(), { type: "conjunction" })
        .format(pair.filter(Boolean)) : null,
      visitors: pair && Array.isArray(g.visitors) && g.visitors.length
        ? new Intl.ListFormat(locale(), { type: "conjunction" })
          .format(g.visitors.map((id) => names.get(id) ?? "").filter(Boolean)) : null,
    };
    const spotName = now.spotlight === you.id ? t("groupmember.you") : names.get(now.spotlight) ?? "";

    const parts = [];
    if (now.pair !== null) parts.push(note("groupmember.breakout", { names: now.pair }));
    if (now.visitors) parts.push(note("groupmember.visit", { names: now.visitors }));
    if (now.focus) parts.push(note("groupmember.focus"));
    if (now.allowed) parts.push(note("groupmember.allowed"));
    if (now.muted) parts.push(note(now.asked ? "groupmember.asked" : "groupmember.muted"));
    if (now.videoOff) parts.push(note("groupmember.videoOff"));
    if (now.spotlight && spotName) parts.push(note("groupmember.spotlight", { name: spotName }));
    const section = ensureBox();
    section.replaceChildren(...parts);
    if (now.asked) {
      const unmute = document.createElement("button");
      unmute.type = "button";
      unmute.className = "primary";
      unmute.dataset.unmute = "";
      unmute.textContent = t("groupmember.unmute");
      const problem = document.createElement("p");
      problem.className = "field-error";
      problem.setAttribute("role", "alert");
      problem.hidden = true;
      unmute.addEventListener("click", async () => {
        unmute.disabled = true;
        const answer = await room.request("group.unmute", {});
        if (answer.ok) {
          // Lifting one's own block changes nobody else's view, so no snapshot is broadcast:
          // the answer carries this person's, which the SDK emits as `room` (follow() then).
          localAudio(true);
          return;
        }
        unmute.disabled = false;
        problem.hidden = false;
        problem.textContent = errorText(answer.error.code, answer.error.message);
      });
      section.append(unmute, problem);
    }
    section.hidden = parts.length === 0;
    if (now.muted) localAudio(false);

    markSpotlight(now.spotlight, you.id);
    holdTiles(now.focus, snap);

    // Announce what changed (the first snapshot too: a late arrival is told they are muted).
    const before = was ?? { muted: false, asked: false, focus: false, videoOff: false,
      allowed: false, spotlight: null, pair: null, visitors: null };
    const said = [];
    if (now.pair !== before.pair) {
      said.push(now.pair !== null ? t("groupmember.breakout", { names: now.pair })
        : t("groupmember.back"));
    }
    if (now.visitors !== before.visitors && now.pair !== null && now.pair === before.pair) {
      said.push(now.visitors ? t("groupmember.visit", { names: now.visitors })
        : t("groupmember.visitOver"));
    } else if (now.visitors && now.pair !== before.pair) {
      said.push(t("groupmember.visit", { names: now.visitors }));
    }
    if (now.focus !== before.focus) said.push(t(now.focus ? "groupmember.focus" : "groupmember.focusOff"));
    if (now.muted && !before.muted) said.push(t("groupmember.muted"));
    if (now.asked && !before.asked) said.push(t("groupmember.asked"));
    if (now.videoOff !== before.videoOff) {
      said.push(t(now.videoOff ? "groupmember.videoOff" : "groupmember.videoOn"));
    }
    if (now.allowed && !before.allowed) said.push(t("groupmember.allowed"));
    if (now.spotlight !== before.spotlight && now.spotlight && spotName) {
      said.push(t("groupmember.spotlight", { name: spotName }));
    }
    if (said.length) say(said.join(" "));
    was = now;
  }

  /** In focus mode: hide the tiles of members whose feed the server closed. */
  function holdTiles(focus, snap) {
    const roles = new Map((snap.participants ?? []).map((p) => [p.id, p.role]));
    const check = () => {
      for (const tile of tiles?.querySelectorAll("figure[data-peer]") ?? []) {
        const el = /** @type {HTMLElement} */ (tile);
        const video = el.querySelector("video");
        const stream = /** @type {MediaStream | null} */ (video?.srcObject ?? null);
        const live = stream?.getVideoTracks().some((track) => track.readyState === "live");
        el.hidden = focus && roles.get(el.dataset.peer ?? "") !== "clinician" && !live;
      }
    };
    check();
    clearInterval(focusTimer);
    focusTimer = focus ? setInterval(check, FOCUS_CHECK_MS) : undefined;
  }

  function reset() {
    clearInterval(focusTimer);
    focusTimer = undefined;
    if (was?.muted) localAudio(true);
    was = null;
    if (box) {
      box.replaceChildren();
      box.hidden = true;
    }
    for (const tile of document.querySelectorAll("[data-spotlit]")) tile.removeAttribute("data-spotlit");
    for (const tile of tiles?.querySelectorAll("figure[data-peer][hidden]") ?? []) {
      /** @type {HTMLElement} */ (tile).hidden = false;
    }
  }

  return { follow, reset };
}
