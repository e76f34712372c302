// The time-out tool's panel (docs/plugins.md, "Panels"): the calm countdown and where the
// clinician is, for clients and partners; side rooms, visits and private check-ins for the
// clinician. In the launcher: the length, and a private check-in with either partner.
// Words: this tool's catalogue (`api.t`); the server's view says which prompt (`promptId`) and
// where the clinician is (`clinician.where`), and the panel says it in the page's language.

import { field, h } from "/static/dom.js";
import { minutesSelect, timer } from "/static/tool-kit.js";

/** The launcher's part for starting a time-out: what it does, how long, and check-ins. */
export function launch(element, api) {
  const select = minutesSelect();
  element.append(
    h("p", { className: "quiet" }, api.t(api.couples ? "about.couples" : "about.individual")),
    field(api.t("length"), select));
  const buttons = api.couples ? api.partners().map((p) => {
    const check = h("button", { type: "button", "data-control": `check-in-${p.id}` }, api.t("check-in-with", { name: p.name }));
    check.addEventListener("click", () => api.start({ checkIn: p.id }, check));
    return check;
  }) : [];
  return { read: () => ({ minutes: Number(select.value) }), buttons };
}

export function mount(element, api) {
  let lastPhase = "";
  return {
    update(v) {
      api.setTitle(api.t(v.phase === "check-in" || v.phase === "away" ? "title.check-in" : "title"));
      api.render(api.clinician ? forClinician(v, api) : forPartner(v, api));
      const phase = v.phase ?? "";
      if (!api.clinician && phase !== lastPhase && ["timeout", "pause", "check-in", "away"].includes(phase)) {
        // Something changed around this person: bring it into view (it is also announced).
        api.reveal();
        api.announce(phase === "away" ? away(v, api)
          : phase === "check-in" ? api.t("announce.check-in") : api.t("announce.started"));
      } else if (!api.clinician && phase === "ended" && lastPhase && lastPhase !== "ended") {
        api.announce(api.t("announce.over"));
      }
      lastPhase = phase;
    },
    destroy() {},
  };
}

/** The calming prompt in the page's language (the server's English one if it is not a known one). */
function prompt(v, api) {
  return Number.isInteger(v.promptId) ? api.t(`prompt.${v.promptId}`) : v.prompt ?? "";
}

function away(v, api) {
  return v.with ? api.t("away", { name: v.with }) : api.t("away.partner");
}

function forPartner(v, api) {
  if (v.phase === "timeout" || v.phase === "pause") {
    const where = ["main", "with-you", "with-partner"].includes(v.clinician?.where) ? v.clinician.where : "";
    return [["calm", { deadline: v.deadline, seconds: v.seconds, prompt: v.promptId ?? v.prompt, side: v.sideRoom }, () =>
      h("div", { className: "calm" },
        h("p", { className: "countdown" }, timer(v.deadline, v.seconds, api.t("left.timeout"), api.t("time-up.partner"))),
        h("p", { className: "calm-prompt" }, prompt(v, api)),
        v.sideRoom ? h("p", { className: "quiet" }, api.t("side-room")) : "")],
    ["where", where, () => h("p", { className: "quiet" }, where ? api.t(`where.${where}`) : "")]];
  }
  if (v.phase === "check-in") {
    return [["check-in", null, () => h("div", { className: "calm" }, h("p", {}, api.t("check-in.you")))]];
  }
  if (v.phase === "away") {
    return [["away", v.with, () => h("div", { className: "calm" },
      h("p", { className: "away-note" }, away(v, api)),
      h("p", { className: "quiet" }, api.t("away.nothing-needed")))]];
  }
  return [["ended", null, () => h("p", {}, `${api.t("over")} ${api.t("after")}`)]];
}

function forClinician(v, api) {
  const names = v.names ?? {};
  const sides = v.sides ?? {};
  const mine = v.you?.side ?? "";
  const partners = api.partners();
  const nameOf = (id) => names[id] ?? api.nameOf(id);
  const checkIns = () => (api.couples ? partners.map((p) =>
    api.button(api.t("check-in-with", { name: p.name }), "check-in", { participant: p.id })) : []);
  if (v.phase === "check-in") {
    const other = partners.filter((p) => p.id !== v.checkIn).map((p) => p.name);
    return [["check-in", { who: v.checkIn, other }, () => h("div", {},
      h("p", {}, api.t("with-privately", { name: nameOf(v.checkIn) })),
      other.length ? h("p", { className: "quiet" }, api.t("others-see", { others: other.join(api.t("and")), name: nameOf(v.checkIn) })) : "",
      h("div", { className: "actions" }, api.button(api.t("end-check-in"), "return", {}, "primary")))]];
  }
  if (v.phase === "timeout" || v.phase === "pause") {
    const away = Object.entries(sides).filter(([id, side]) => id !== api.you.id && side.startsWith("timeout-"));
    const pause = v.phase === "pause";
    return [
      ["clock", { deadline: v.deadline, seconds: v.seconds, phase: v.phase }, () => h("div", {},
        h("p", { className: "countdown" }, timer(v.deadline, v.seconds, api.t(pause ? "left.pause" : "left.timeout"), api.t("time-up"))),
        h("p", { className: "quiet" }, api.t(pause ? "pause.about" : "timeout.about")))],
      ["prompt", v.promptId ?? v.prompt, () => h("details", {}, h("summary", {}, api.t("prompt-they-see")), h("p", {}, prompt(v, api)))],
      v.phase === "timeout" && ["rooms", { away, mine }, () => {
        const list = h("ul", { className: "people" });
        for (const [id, side] of away) {
          const here = side === mine;
          list.append(h("li", { className: "person" },
            h("p", { className: "person-text" }, api.t(here ? "you-are-with" : "in-side-room", { name: nameOf(id) })),
            here ? "" : h("div", { className: "actions" },
              api.button(api.t("go-to", { name: nameOf(id) }), "visit", { participant: id }))));
        }
        const back = mine ? h("div", { className: "actions" }, api.button(api.t("back-to-main"), "return")) : "";
        return h("div", {}, list, back);
      }],
      ["controls", { phase: v.phase, partners }, () => h("div", { className: "actions" },
        api.button(api.t(pause ? "end-pause" : "end-timeout"), "end", {}, "primary"),
        ...checkIns())],
    ];
  }
  return [
    ["ended", null, () => h("p", { className: "quiet" }, api.t("everyone-main"))],
    ["again", { partners, couples: api.couples }, () => {
      const select = minutesSelect();
      return h("div", {},
        field(api.t("length"), select),
        h("div", { className: "actions" },
          api.button(api.t("call"), "call", () => ({ minutes: Number(select.value) })),
          ...checkIns(),
          api.stopButton(api.t("close-tool"))));
    }],
  ];
}
