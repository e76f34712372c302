// The time-out tool's panel (docs/plugins.md, "Panels"): the calm countdown and where the
// clinician is, for clients and partners; side rooms, visits and private check-ins for the
// clinician. In the launcher: the length, and a private check-in with either partner.

import { field, h } from "/static/dom.js";
import { minutesSelect, timer } from "/static/tool-kit.js";

/** The launcher's part for starting a time-out: what it does, how long, and check-ins. */
export function launch(element, api) {
  const select = minutesSelect();
  element.append(
    h("p", { className: "quiet" }, api.couples
      ? "Each partner goes to a quiet side room of their own, with a countdown and a calming prompt. You can visit each of them."
      : "A short quiet pause for the client, with a countdown and a calming prompt."),
    field("Length", select));
  const buttons = api.couples ? api.partners().map((p) => {
    const check = h("button", { type: "button", "data-control": `check-in-${p.id}` }, `Private check-in with ${p.name}`);
    check.addEventListener("click", () => api.start({ checkIn: p.id }, check));
    return check;
  }) : [];
  return { read: () => ({ minutes: Number(select.value) }), buttons };
}

export function mount(element, api) {
  let lastPhase = "";
  return {
    update(v) {
      api.setTitle(v.phase === "check-in" || v.phase === "away" ? "Private check-in" : "Time-out");
      api.render(api.clinician ? forClinician(v, api) : forPartner(v));
      const phase = v.phase ?? "";
      if (!api.clinician && phase !== lastPhase && ["timeout", "pause", "check-in", "away"].includes(phase)) {
        // Something changed around this person: bring it into view (it is also announced).
        api.reveal();
        api.announce(phase === "away" ? v.message
          : phase === "check-in" ? "Your clinician is here with you, privately." : "A time-out has started.");
      } else if (!api.clinician && phase === "ended" && lastPhase && lastPhase !== "ended") {
        api.announce("The time-out is over. You're back together.");
      }
      lastPhase = phase;
    },
    destroy() {},
  };
}

function forPartner(v) {
  if (v.phase === "timeout" || v.phase === "pause") {
    return [["calm", { deadline: v.deadline, seconds: v.seconds, prompt: v.prompt, side: v.sideRoom }, () =>
      h("div", { className: "calm" },
        h("p", { className: "countdown" }, timer(v.deadline, v.seconds, "left in this time-out", "The time is up; you'll be back together in a moment.")),
        h("p", { className: "calm-prompt" }, v.prompt),
        v.sideRoom
          ? h("p", { className: "quiet" }, "You're in a quiet room of your own. Your partner can't see or hear you, and you can't see or hear them, until the time-out ends.")
          : "")],
    ["where", v.clinician, () => h("p", { className: "quiet" }, v.clinician?.message ?? "")]];
  }
  if (v.phase === "check-in") {
    return [["check-in", v.message, () => h("div", { className: "calm" }, h("p", {}, v.message))]];
  }
  if (v.phase === "away") {
    return [["away", v.message, () => h("div", { className: "calm" },
      h("p", { className: "away-note" }, v.message),
      h("p", { className: "quiet" }, "Nothing is needed from you. You'll all be back together soon."))]];
  }
  return [["ended", v.message, () => h("p", {}, v.message ?? "The time-out is over.")]];
}

function forClinician(v, api) {
  const names = v.names ?? {};
  const sides = v.sides ?? {};
  const mine = v.you?.side ?? "";
  const partners = api.partners();
  const nameOf = (id) => names[id] ?? api.nameOf(id);
  const checkIns = () => (api.couples ? partners.map((p) =>
    api.button(`Private check-in with ${p.name}`, "check-in", { participant: p.id })) : []);
  if (v.phase === "check-in") {
    const other = partners.filter((p) => p.id !== v.checkIn).map((p) => p.name);
    return [["check-in", { who: v.checkIn, other }, () => h("div", {},
      h("p", {}, `You are with ${nameOf(v.checkIn)} privately.`),
      other.length ? h("p", { className: "quiet" }, `${other.join(" and ")} sees only that you are with ${nameOf(v.checkIn)}.`) : "",
      h("div", { className: "actions" }, api.button("End check-in", "return", {}, "primary")))]];
  }
  if (v.phase === "timeout" || v.phase === "pause") {
    const away = Object.entries(sides).filter(([id, side]) => id !== api.you.id && side.startsWith("timeout-"));
    return [
      ["clock", { deadline: v.deadline, seconds: v.seconds, phase: v.phase }, () => h("div", {},
        h("p", { className: "countdown" }, timer(v.deadline, v.seconds, v.phase === "pause" ? "left in this pause" : "left in this time-out", "Time is up.")),
        h("p", { className: "quiet" }, v.phase === "pause"
          ? "A quiet pause for the client; nobody moves."
          : "Each partner is in a side room of their own."))],
      ["prompt", v.prompt, () => h("details", {}, h("summary", {}, "The calming prompt they see"), h("p", {}, v.prompt))],
      v.phase === "timeout" && ["rooms", { away, mine }, () => {
        const list = h("ul", { className: "people" });
        for (const [id, side] of away) {
          const here = side === mine;
          list.append(h("li", { className: "person" },
            h("p", { className: "person-text" }, here ? `You are with ${nameOf(id)}.` : `${nameOf(id)} is in a side room.`),
            here ? "" : h("div", { className: "actions" },
              api.button(`Go to ${nameOf(id)}'s side room`, "visit", { participant: id }))));
        }
        const back = mine ? h("div", { className: "actions" }, api.button("Back to the main room", "return")) : "";
        return h("div", {}, list, back);
      }],
      ["controls", { phase: v.phase, partners }, () => h("div", { className: "actions" },
        api.button(v.phase === "pause" ? "End pause" : "End time-out", "end", {}, "primary"),
        ...checkIns())],
    ];
  }
  return [
    ["ended", null, () => h("p", { className: "quiet" }, "Everyone is in the main room.")],
    ["again", { partners, couples: api.couples }, () => {
      const select = minutesSelect();
      return h("div", {},
        field("Length", select),
        h("div", { className: "actions" },
          api.button("Call a time-out", "call", () => ({ minutes: Number(select.value) })),
          ...checkIns(),
          api.stopButton("Close the time-out tool")));
    }],
  ];
}
