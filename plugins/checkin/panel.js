// The check-in tool's panel (docs/plugins.md, "Panels"): each client or partner answers two
// 1–5 scales privately; the clinician sees everyone's answers and closes or reopens it.
// Words: this tool's catalogue (locales/<locale>.json, `api.t("key")`); the questions and scale
// labels are the tool's own, chosen by phase and scale, so they read in the page's language.

import { field, h, uid } from "/static/dom.js";

/** The launcher's part: when in the session this check-in is. */
export function launch(element, api) {
  const select = h("select", { id: uid("phase"), "data-field": "phase" },
    h("option", { value: "start" }, api.t("phase.start")),
    h("option", { value: "end" }, api.t("phase.end")));
  element.append(h("p", { className: "quiet" }, api.t("about")), field(api.t("when"), select));
  return { read: () => ({ phase: select.value }) };
}

export function mount(element, api) {
  return {
    update(v) {
      api.setTitle(api.t(v.phase === "end" ? "title.end" : "title.start"));
      api.render(blocks(v, api));
    },
    destroy() {},
  };
}

function blocks(v, api) {
  const phase = v.phase === "end" ? "end" : "start";
  const label = (scale, n) => api.t(`label.${scale}.${n}`);
  const say = (scale, n) => `${n} · ${label(scale, n)}`;
  const scores = (a) => ({ mood: say("mood", a.mood), readiness: say("readiness", a.readiness) });
  if (api.clinician) {
    return [
      ["state", { open: v.open }, () => h("p", { className: "quiet" }, api.t(v.open ? "state.open" : "state.closed"))],
      ["answers", { answers: v.answers, waiting: v.waiting }, () => {
        const list = h("ul", { className: "answer-list" });
        for (const a of Object.values(v.answers ?? {})) {
          const role = ["clinician", "client", "partner"].includes(a.role) ? api.t(`role.${a.role}`) : a.role;
          list.append(h("li", {}, h("strong", {}, a.name), " ", api.t("answer-line", { role, ...scores(a) })));
        }
        for (const w of v.waiting ?? []) list.append(h("li", { className: "quiet" }, api.t("waiting-for", { name: w.name })));
        return list;
      }],
      ["controls", { open: v.open }, () => h("div", { className: "actions" },
        v.open ? api.button(api.t("close"), "close") : api.button(api.t("reopen"), "reopen"),
        api.stopButton(api.t("finish")))],
    ];
  }
  return [
    ["privacy", v.privacy, () => h("p", { className: "quiet" }, api.t("privacy"))],
    ["form", { open: v.open, phase, mine: v.mine, answered: v.answered }, () => {
      if (!v.open) {
        return h("div", {},
          h("p", {}, api.t("closed-thanks")),
          v.mine ? h("p", { className: "quiet" }, api.t("your-answers", scores(v.mine))) : "");
      }
      const groups = ["mood", "readiness"].map((scale) => scaleGroup(scale, api.t(`question.${phase}.${scale}`), (n) => label(scale, n), v.mine?.[scale]));
      const send = h("button", { type: "submit", className: "primary", "data-control": "answer" }, api.t(v.answered ? "update" : "send"));
      const form = h("form", { className: "tool-form" }, ...groups.map((g) => g.node), h("div", { className: "actions" }, send),
        v.answered ? h("p", { className: "quiet" }, api.t("sent")) : "");
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const [mood, readiness] = groups.map((g) => g.value());
        if (!mood || !readiness) {
          api.say(api.t("choose-both"), "error");
          return;
        }
        api.act("answer", { mood, readiness }, send);
      });
      return form;
    }],
  ];
}

/** A 1–5 scale as radio buttons in a fieldset whose legend is the question. */
function scaleGroup(scale, question, label, checked) {
  const name = uid(`scale-${scale}`);
  const options = [1, 2, 3, 4, 5].map((n) => {
    const input = h("input", { type: "radio", name, value: String(n), id: `${name}-${n}`, "data-field": `${scale}:${n}`, checked: checked === n });
    return h("label", { className: "scale-option", htmlFor: `${name}-${n}` }, input, h("span", {}, `${n} · ${label(n)}`));
  });
  const node = h("fieldset", { className: "scale" }, h("legend", {}, question), h("div", { className: "scale-options" }, ...options));
  return {
    node,
    value: () => {
      const on = node.querySelector("input:checked");
      return on ? Number(on.value) : 0;
    },
  };
}
