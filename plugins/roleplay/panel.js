// The role-play tool's panel (docs/plugins.md, "Panels"): the scene and the parts, each turn's
// prompt and timer, coaching cues for the clinician only, and the closing reflection.
// Words: this tool's catalogue (`api.t`). A scenario's own text comes from its file in English;
// a locale may translate it under `content.<scenario id>.<path>` (docs/i18n.md).

import { field, h, uid } from "/static/dom.js";
import { PanelView, onlyYou, timer } from "/static/tool-kit.js";

const PARTS = ["speaker", "partner"];

/** A scenario's text in the page's language: the catalogue's `content.<id>.<path>`, else `text`. */
function content(api, id, path, text) {
  const key = `content.${id}.${path}`;
  return id && api.has(key) ? api.t(key) : text ?? "";
}

/** The launcher's part: what it is (the scenario is chosen in the panel, once started). */
export function launch(element, api) {
  element.append(h("p", { className: "quiet" }, api.t(api.couples ? "about.couples" : "about.individual")));
  return { read: () => ({}) };
}

export function mount(element, api) {
  return new RoleplayPanel(api);
}

class RoleplayPanel extends PanelView {
  /** This scenario's text at `path`, translated when the catalogue has it. */
  c(v, path, text) {
    return content(this.api, v.scenario?.id, path, text);
  }

  /** A part by what it does ("Practising", "The other side"). */
  part(key) {
    return PARTS.includes(key) ? this.api.t(`part.${key}`) : key;
  }

  heading(v) {
    const title = this.c(v, "title", v.scenario?.title);
    return title ? this.api.t("heading", { title }) : this.api.t("title");
  }

  blocks(v) {
    const t = this.api.t;
    if (v.stage === "picking" || !v.scenario) return this.picking(v);
    const turn = v.turn;
    const out = [
      ["scene", { scenario: v.scenario, parts: v.parts, you: v.you }, () => this.scene(v)],
    ];
    if (v.stage === "playing" && turn) {
      out.push(["turn", { turn, paused: v.paused, count: v.turns?.count }, () => this.turn(v)]);
    } else if (v.stage === "done") {
      out.push(["done", null, () => h("p", {}, t("done"))]);
    }
    if (this.clinician && v.cues) {
      out.push(["cues", { cues: v.cues, turn: turn?.index }, () => this.cues(v)]);
    }
    const reflecting = v.stage === "done" || Boolean(v.reflection?.mine);
    if (reflecting && (this.clinician || v.you)) {
      out.push(["reflect", { q: v.reflection?.question, mine: v.reflection?.mine }, () => this.reflect(v)]);
    }
    if (this.clinician && v.reflection?.all && Object.keys(v.reflection.all).length) {
      out.push(["reflections", v.reflection.all, () => {
        const list = h("ul", { className: "answer-list" });
        for (const r of Object.values(v.reflection.all)) list.append(h("li", {}, h("strong", {}, `${r.name}: `), r.text));
        return h("div", { className: "answers" }, h("h4", {}, t("reflections")), list);
      }]);
    }
    if (this.clinician) {
      // In a couples room the clinician plays the other side until the partner is there.
      const stand = v.parts?.partner?.participant === this.you?.id;
      const partner = this.api.couples && stand
        ? [...this.api.people().values()].find((p) => p.role === "partner") : null;
      out.push(["controls", { paused: v.paused, stage: v.stage, partner }, () => h("div", { className: "actions" },
        this.button(t("redo"), "redo"),
        this.button(t("swap"), "swap"),
        v.paused ? this.button(t("resume"), "resume", {}, "primary") : this.button(t("pause"), "pause"),
        partner ? this.button(t("give-other-side", { name: partner.name }), "assign", { roles: { partner: partner.id } }) : "",
        this.stopButton(t("stop")))]);
    }
    return out;
  }

  picking(v) {
    const t = this.api.t;
    if (!this.clinician) {
      return [["wait", null, () => h("p", { className: "quiet" }, t("choosing"))]];
    }
    const library = v.library ?? [];
    return [
      ["pick", { library }, () => {
        if (!library.length) return h("p", {}, t("no-scenarios"));
        const text = (s, path, fallback) => content(this.api, s.id, path, fallback);
        const select = h("select", { id: uid("scenario"), "data-field": "scenario" },
          ...library.map((s) => h("option", { value: s.id }, text(s, "title", s.title))));
        const summary = h("p", { className: "hint" });
        const show = () => {
          const s = library.find((x) => x.id === select.value);
          summary.textContent = s ? t("summary", {
            summary: text(s, "summary", s.summary), turns: s.turns,
            speaker: text(s, "role.speaker.label", s.parts?.speaker), partner: text(s, "role.partner.label", s.parts?.partner),
          }) : "";
        };
        select.addEventListener("change", show);
        show();
        return h("div", {}, field(t("scenario"), select), summary,
          h("div", { className: "actions" }, this.button(t("play"), "pick", () => ({ scenario: select.value }), "primary"), this.stopButton(t("stop"))));
      }],
      (v.skipped ?? []).length && ["skipped", v.skipped, () => h("details", {},
        h("summary", {}, t("skipped", { count: v.skipped.length })),
        h("ul", { className: "plain-list" }, ...v.skipped.map((s) => h("li", {}, `${s.file}: ${s.error}`))))],
    ];
  }

  scene(v) {
    const t = this.api.t;
    const parts = v.parts ?? {};
    const about = (k) => this.c(v, `role.${k}.about`, parts[k]?.about);
    const label = (k) => this.c(v, `role.${k}.label`, parts[k]?.label);
    const out = h("div", { className: "scene" }, h("p", { className: "quiet" }, this.c(v, "summary", v.scenario.summary)));
    // The scenario's labels ("You", "Your partner") are written for the person practising;
    // the parts are called by what they do, so they read the same for everyone.
    if (v.you === "speaker" && parts.speaker) {
      out.append(h("p", {}, h("strong", {}, `${t("you-practise")} `), about("speaker")));
    } else if (v.you === "partner" && parts.partner) {
      out.append(h("p", {}, h("strong", {}, `${t("you-play-other", { label: label("partner") })} `), about("partner")));
    }
    const cast = h("ul", { className: "plain-list" });
    for (const key of PARTS) {
      const p = parts[key];
      if (!p) continue;
      const who = p.participant === this.you?.id ? t("you") : p.name;
      cast.append(h("li", {}, t("cast", { part: this.part(key), who })));
    }
    out.append(cast);
    if (this.clinician) {
      out.append(h("details", {}, h("summary", {}, t("about-parts")),
        ...PARTS.filter((k) => parts[k]).map((k) => h("p", {}, h("strong", {}, `${t("part-about", { part: this.part(k), label: label(k) })} `), about(k)))));
    }
    return out;
  }

  turn(v) {
    const t = this.api.t;
    const turn = v.turn;
    const path = `turn.${turn.index}`;
    const who = turn.yours ? t("your-turn") : t("their-turn", { name: turn.name, part: this.part(turn.who).toLowerCase() });
    const box = h("div", { className: "tool-step" },
      h("p", { className: "step-count" }, t("turn-of", { n: turn.index + 1, count: v.turns?.count ?? "?", who })),
      h("p", { className: "prompt" }, this.c(v, `${path}.prompt`, turn.prompt)));
    if (v.paused) box.append(h("p", { className: "quiet" }, t("paused")));
    else if (turn.time_up) box.append(h("p", { className: "quiet" }, t("time-up")));
    else if (turn.deadline) box.append(h("p", { className: "step-timer" }, timer(turn.deadline, turn.seconds, t("left.turn"), t("time-up"))));
    if (Array.isArray(turn.suggested) && turn.suggested.length) {
      box.append(h("p", { className: "suggested-title" }, turn.yours ? t("words-you") : t("words-them", { name: turn.name })),
        h("ul", { className: "suggested" }, ...turn.suggested.map((s, j) => h("li", {}, this.c(v, `${path}.suggested.${j}`, s)))));
    }
    if ((turn.yours || this.clinician) && !v.paused) {
      box.append(h("div", { className: "actions" }, this.button(t("next-turn"), "next", {}, turn.yours ? "primary" : "")));
    }
    return box;
  }

  cues(v) {
    const t = this.api.t;
    const cues = v.cues;
    const now = v.turn?.index;
    const body = h("div", {});
    const current = cues.current && Number.isInteger(now) ? this.c(v, `turn.${now}.cue`, cues.current) : cues.current;
    body.append(h("p", {}, current || t("no-cue")));
    if (cues.upcoming?.length) {
      body.append(h("details", {}, h("summary", {}, t("script-ahead")),
        h("ol", { className: "plain-list" }, ...cues.upcoming.map((u) =>
          h("li", {}, `${this.part(u.who)}: ${this.c(v, `turn.${u.index}.prompt`, u.prompt)}`,
            u.cue ? h("span", { className: "cue-ahead" }, ` ${t("cue", { cue: this.c(v, `turn.${u.index}.cue`, u.cue) })}`) : "")))));
    }
    return onlyYou(body, t("coaching-cue"));
  }

  reflect(v) {
    const t = this.api.t;
    const id = uid("reflection");
    const text = h("textarea", { id, "data-field": "reflection", rows: 3, maxLength: 2000 });
    text.value = v.reflection?.mine ?? "";
    const save = h("button", { type: "submit", className: "primary", "data-control": "reflect" }, t("save-reflection"));
    const question = v.reflection?.question ? this.c(v, "reflection", v.reflection.question) : t("your-reflection");
    const form = h("form", { className: "tool-form" },
      field(question, text),
      h("div", { className: "actions" }, save),
      v.reflection?.mine ? h("p", { className: "quiet" }, t("saved")) : "");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!text.value.trim()) return this.say(t("write-first"), "error");
      this.act(save, "reflect", { text: text.value.trim() });
    });
    return form;
  }
}
