// The check-in tool's panel (docs/plugins.md, "Panels"): each client or partner answers two
// 1–5 scales privately; the clinician sees everyone's answers and closes or reopens it.

import { field, h, uid } from "/static/dom.js";

const ROLE_WORD = { clinician: "clinician", client: "client", partner: "partner" };

/** The launcher's part: when in the session this check-in is. */
export function launch(element, api) {
  const select = h("select", { id: uid("phase"), "data-field": "phase" },
    h("option", { value: "start" }, "Start of the session"),
    h("option", { value: "end" }, "End of the session"));
  element.append(h("p", { className: "quiet" }, "A short mood and readiness scale. Only you see the answers."),
    field("When", select));
  return { read: () => ({ phase: select.value }) };
}

export function mount(element, api) {
  return {
    update(v) {
      api.setTitle(v.phase === "end" ? "Check-in: end of the session" : "Check-in: start of the session");
      api.render(blocks(v, api));
    },
    destroy() {},
  };
}

function blocks(v, api) {
  const labels = v.scale?.labels ?? {};
  const say = (scale, n) => `${n} · ${labels[scale]?.[String(n)] ?? ""}`;
  if (api.clinician) {
    return [
      ["state", { open: v.open }, () => h("p", { className: "quiet" }, v.open
        ? "Open. Answers are private to you; each person sees only their own."
        : "Closed. Reopen it to let people change their answers.")],
      ["answers", { answers: v.answers, waiting: v.waiting, labels }, () => {
        const list = h("ul", { className: "answer-list" });
        for (const a of Object.values(v.answers ?? {})) {
          list.append(h("li", {},
            h("strong", {}, a.name), ` (${ROLE_WORD[a.role] ?? a.role}): mood ${say("mood", a.mood)}; readiness ${say("readiness", a.readiness)}`));
        }
        for (const w of v.waiting ?? []) list.append(h("li", { className: "quiet" }, `Waiting for ${w.name}.`));
        return list;
      }],
      ["controls", { open: v.open }, () => h("div", { className: "actions" },
        v.open ? api.button("Close check-in", "close") : api.button("Reopen check-in", "reopen"),
        api.stopButton("Finish and save"))],
    ];
  }
  const questions = v.questions ?? {};
  return [
    ["privacy", v.privacy, () => h("p", { className: "quiet" }, v.privacy ?? "")],
    ["form", { open: v.open, questions, labels, mine: v.mine, answered: v.answered }, () => {
      if (!v.open) {
        return h("div", {},
          h("p", {}, "The check-in is closed. Thank you."),
          v.mine ? h("p", { className: "quiet" }, `Your answers: mood ${say("mood", v.mine.mood)}; readiness ${say("readiness", v.mine.readiness)}.`) : "");
      }
      const groups = ["mood", "readiness"].map((scale) => scaleGroup(scale, questions[scale] ?? scale, labels[scale] ?? {}, v.mine?.[scale]));
      const send = h("button", { type: "submit", className: "primary", "data-control": "answer" }, v.answered ? "Update" : "Send");
      const form = h("form", { className: "tool-form" }, ...groups.map((g) => g.node), h("div", { className: "actions" }, send),
        v.answered ? h("p", { className: "quiet" }, "Sent. You can change your answers until the check-in closes.") : "");
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const [mood, readiness] = groups.map((g) => g.value());
        if (!mood || !readiness) {
          api.say("Choose a number for both questions.", "error");
          return;
        }
        api.act("answer", { mood, readiness }, send);
      });
      return form;
    }],
  ];
}

/** A 1–5 scale as radio buttons in a fieldset whose legend is the question. */
function scaleGroup(scale, question, labels, checked) {
  const name = uid(`scale-${scale}`);
  const options = [1, 2, 3, 4, 5].map((n) => {
    const input = h("input", { type: "radio", name, value: String(n), id: `${name}-${n}`, "data-field": `${scale}:${n}`, checked: checked === n });
    return h("label", { className: "scale-option", htmlFor: `${name}-${n}` }, input, h("span", {}, `${n} · ${labels[String(n)] ?? ""}`));
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
