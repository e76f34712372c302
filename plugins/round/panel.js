// The round's panel (docs/plugins.md, "Round"): each member answers one prompt privately;
// the clinician closes the round, reads the answers without names (shuffled), may hold one
// back, and shares the rest with the group. Words: this tool's catalogue (locales/*.json).

import { field, h, uid } from "/static/dom.js";

/** The launcher's part: the prompt everyone answers. */
export function launch(element, api) {
  const prompt = h("textarea", { id: uid("prompt"), "data-field": "prompt", maxLength: 300, rows: 2 });
  element.append(h("p", { className: "quiet" }, api.t("about")), field(api.t("prompt"), prompt));
  return { read: () => ({ prompt: prompt.value }) };
}

export function mount(element, api) {
  let stage = "";
  return {
    update(v) {
      api.setTitle(api.t("title"));
      if (stage && v.stage !== stage && v.stage === "revealed") api.announce(api.t("state.revealed"));
      stage = v.stage;
      api.render(api.clinician ? clinicianBlocks(v, api) : memberBlocks(v, api));
    },
    destroy() {},
  };
}

function sharedList(v, api) {
  return ["shared", v.shared, () => h("div", {},
    h("p", {}, api.t("shared-heading", { count: (v.shared ?? []).length })),
    h("ul", { className: "answer-list", "aria-label": api.t("shared-label") },
      ...(v.shared ?? []).map((text) => h("li", {}, text))))];
}

function clinicianBlocks(v, api) {
  const blocks = [
    ["prompt", v.prompt, () => h("p", {}, h("strong", {}, v.prompt))],
    ["who", { answered: v.answered, waiting: v.waiting, stage: v.stage }, () => h("div", {},
      h("p", { className: "quiet" }, api.t(`state.${v.stage}.clinician`)),
      h("p", {}, api.t("answered", { count: v.answered.length, names: v.answered.join(", ") })),
      v.waiting.length ? h("p", { className: "quiet" }, api.t("waiting", { names: v.waiting.join(", ") })) : "")],
  ];
  if (v.stage === "closed") {
    blocks.push(["answers", v.answers, () => h("ul", { className: "answer-list", "aria-label": api.t("answers-label") },
      ...v.answers.map((a) => h("li", {}, a.held ? h("s", {}, a.text) : a.text, " ",
        api.button(api.t(a.held ? "unhold" : "hold"), "hold", { index: a.index, held: !a.held }))))]);
  }
  if (v.stage === "revealed") blocks.push(sharedList(v, api));
  blocks.push(["controls", { stage: v.stage, n: (v.answers ?? []).length }, () => h("div", { className: "actions" },
    v.stage === "open" ? api.button(api.t("close"), "close") : "",
    v.stage === "closed" ? api.button(api.t("reveal"), "reveal", {}, "primary") : "",
    v.stage === "closed" && v.answers.filter((a) => !a.held).length < v.min_to_reveal ? h("p", { className: "quiet" }, api.t("too-few", { count: v.min_to_reveal })) : "",
    api.stopButton(api.t("finish")))]);
  return blocks;
}

function memberBlocks(v, api) {
  const blocks = [
    ["prompt", v.prompt, () => h("p", {}, h("strong", {}, v.prompt))],
    ["privacy", true, () => h("p", { className: "quiet" }, api.t("privacy"))],
  ];
  if (v.stage === "open") {
    blocks.push(["form", { mine: v.mine }, () => {
      const id = uid("answer");
      const text = h("textarea", { id, "data-field": "text", maxLength: 500, rows: 3 });
      text.value = v.mine ?? "";
      const send = h("button", { type: "submit", className: "primary", "data-control": "answer" }, api.t(v.mine ? "update" : "send"));
      const form = h("form", { className: "tool-form" }, field(api.t("your-answer"), text),
        h("div", { className: "actions" }, send), v.mine ? h("p", { className: "quiet" }, api.t("sent")) : "");
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (!text.value.trim()) {
          api.say(api.t("write-something"), "error");
          return;
        }
        api.act("answer", { text: text.value }, send);
      });
      return form;
    }]);
  } else {
    blocks.push(["mine", { mine: v.mine, stage: v.stage, shared: v.mine_shared }, () => h("div", {},
      h("p", {}, api.t(v.stage === "revealed" ? "state.revealed" : "state.closed")),
      v.mine ? h("p", { className: "quiet" }, api.t("your-answer-was", { text: v.mine })) : "",
      v.stage === "revealed" && v.mine && !v.mine_shared ? h("p", { className: "quiet" }, api.t("held-yours")) : "")]);
  }
  if (v.stage === "revealed") blocks.push(sharedList(v, api));
  return blocks;
}
