// The exercises tool's panel (docs/plugins.md, "Panels"): one step at a time; private answers
// shown to the other partner only once the clinician releases them; speaker-listener rounds.
// Words: this tool's catalogue (`api.t`). An exercise's own text (title, prompts, fields) comes
// from the library file in English; a locale may translate it under
// `content.<exercise id>.<path>` (docs/i18n.md), and the panel shows that when it exists.

import { field, h, uid } from "/static/dom.js";
import { PanelView, onlyYou, timer } from "/static/tool-kit.js";

/** An exercise's text in the page's language: the catalogue's `content.<id>.<path>`, else `text`. */
function content(api, id, path, text) {
  const key = `content.${id}.${path}`;
  return id && api.has(key) ? api.t(key) : text ?? "";
}

/** The launcher's part: which exercise, with its introduction. */
export function launch(element, api) {
  const catalog = Array.isArray(api.catalog) ? api.catalog : [];
  element.append(h("p", { className: "quiet" }, api.t(api.couples ? "about.couples" : "about.individual")));
  if (!catalog.length) return { read: () => ({}) };
  const select = h("select", { id: uid("exercise"), "data-field": "exercise" },
    ...catalog.map((e) => h("option", { value: e.id }, content(api, e.id, "title", e.title))));
  const intro = h("p", { className: "hint" });
  const showIntro = () => {
    const chosen = catalog.find((e) => e.id === select.value);
    intro.textContent = chosen ? content(api, chosen.id, "intro", chosen.intro) : "";
  };
  select.addEventListener("change", showIntro);
  showIntro();
  element.append(field(api.t("exercise"), select), intro);
  return { read: () => ({ exercise: select.value }) };
}

export function mount(element, api) {
  return new ExercisesPanel(api);
}

class ExercisesPanel extends PanelView {
  /** This exercise's text at `path`, translated when the catalogue has it. */
  c(v, path, text) {
    return content(this.api, v.exercise?.id, path, text);
  }

  heading(v) {
    const title = this.c(v, "title", v.exercise?.title);
    return title ? this.api.t("heading", { title }) : this.api.t("heading.none");
  }

  blocks(v) {
    const t = this.api.t;
    const me = this.you?.id;
    const people = v.people ?? [];
    const name = (id) => (id === me ? t("you-cap")
      : people.find((p) => p.id === id)?.name ?? this.api.people().get(id)?.name ?? t("your-clinician"));
    const step = v.step ?? {};
    const mode = step.mode;
    const inIt = Boolean(v.you?.inExercise);
    const them = this.clinician && !inIt;
    const blocks = [
      ["intro", v.exercise?.intro, () => h("details", { className: "tool-about" },
        h("summary", {}, t("about-this")), h("p", {}, this.c(v, "intro", v.exercise?.intro)))],
    ];
    if (v.finished) {
      blocks.push(["finished", null, () => h("p", {}, t(this.clinician ? "finished.clinician" : "finished"))]);
    } else {
      blocks.push(["step", { index: v.index, count: v.count, step, speaker: v.speaker, listener: v.listener, people }, () =>
        h("div", { className: "tool-step" },
          h("p", { className: "step-count" }, t("step-of", { n: v.index + 1, count: v.count })),
          h("p", { className: "prompt" }, this.c(v, `step.${v.index}.prompt`, step.prompt)),
          h("p", { className: "quiet" }, whoAnswers(step, v, name, them, me, t)),
          step.deadline ? h("p", { className: "step-timer" }, timer(step.deadline, step.timer, t("left.step"), t("time-up.step"))) : "")]);
      if (this.clinician && step.guide) {
        blocks.push(["guide", step.guide, () => onlyYou(h("p", {}, this.c(v, `step.${v.index}.guide`, step.guide)))]);
      }
      if (mode === "floor") blocks.push(...this.floor(v, name));
      else blocks.push(...this.answers(v, name, inIt));
    }
    if (this.clinician) blocks.push(this.controls(v));
    return blocks;
  }

  /** Private-reveal and shared steps: the answer form, who is done, the answers one may see. */
  answers(v, name, inIt) {
    const t = this.api.t;
    const me = this.you?.id;
    const step = v.step ?? {};
    const people = v.people ?? [];
    const mine = v.answers?.[me];
    const privately = step.mode === "private-reveal";
    const released = Boolean(v.released);
    const others = people.filter((p) => p.id !== me);
    const mayAnswer = step.who === "clinician" ? this.clinician : inIt && mayAnswerStep(step, v, me);
    const text = (answer) => this.answerText(v, answer);
    const out = [];

    if (step.who === "clinician") {
      // The clinician writes this one for everyone to see (e.g. the agreed boundaries).
      if (mayAnswer) {
        out.push([`form-${v.index}`, { fields: step.fields, mine }, () => this.answerForm(v, mine, false, [])]);
      }
      const written = Object.keys(v.answers ?? {}).map((id) => ({ id }));
      out.push(["shared", { answers: v.answers }, () => written.length
        ? h("div", { className: "answers" }, h("h4", {}, t("written-down")), answerList(written, v.answers ?? {}, name, me, t, text))
        : h("p", { className: "quiet" }, t(this.clinician ? "write-here" : "clinician-writes"))]);
      return out;
    }

    if (mayAnswer && !(privately && released)) {
      out.push([`form-${v.index}`, { fields: step.fields, mine }, () =>
        this.answerForm(v, mine, privately, others)]);
    }
    if (privately && !released && inIt) {
      out.push(["waiting", { done: v.done, people }, () => {
        const lines = people.filter((p) => p.id !== me).map((p) =>
          t((v.done ?? []).includes(p.id) ? "done-with-step" : "waiting-for", { name: p.name }));
        return h("p", { className: "quiet", "data-waiting": "" }, lines.join(" "));
      }]);
    }
    if (this.clinician && !(released && inIt)) {
      out.push(["seen", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
        h("h4", {}, t(privately ? (released ? "answers.shared-both" : "answers.arriving") : "answers")),
        privately && !released ? h("p", { className: "hint" }, t("only-you-until-release")) : "",
        answerList(people.filter((p) => p.id !== me || !inIt), v.answers ?? {}, name, me, t, text))]);
    }
    if (!this.clinician || inIt) {
      if (!privately || released) {
        out.push(["shared", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
          h("h4", {}, t(privately ? "answers.yours-shared" : "answers.so-far")),
          answerList(people, v.answers ?? {}, name, me, t, text))]);
      }
    }
    return out;
  }

  /**
   * An answer as a sentence. A step with a template gets it in the page's language from the
   * catalogue (`content.<id>.step.<n>.template`), filled with the fields; else the server's.
   */
  answerText(v, answer) {
    if (!answer || answer.withheld) return "";
    const template = this.c(v, `step.${v.index}.template`, "");
    if (template && answer.value && typeof answer.value === "object") {
      return template.replace(/\{(\w+)\}/g, (whole, key) => (key in answer.value ? String(answer.value[key]) : whole));
    }
    if (typeof answer.text === "string") return answer.text;
    return Object.values(answer.value ?? {}).join(" · ");
  }

  answerForm(v, mine, privately, others) {
    const t = this.api.t;
    const step = v.step ?? {};
    const fields = Array.isArray(step.fields) ? step.fields : [];
    const inputs = [];
    const rows = [];
    if (fields.length) {
      for (const f of fields) {
        const id = uid(`answer-${f.name}`);
        const long = (f.maxLength ?? 500) > 200;
        const path = `step.${v.index}.field.${f.name}`;
        const input = h(long ? "textarea" : "input", {
          id, name: f.name, "data-field": `answer-${f.name}`, maxLength: f.maxLength ?? 500,
          placeholder: this.c(v, `${path}.placeholder`, f.placeholder ?? ""), rows: long ? 2 : undefined,
          type: long ? undefined : "text", required: true,
        });
        input.value = mine?.value?.[f.name] ?? "";
        inputs.push([f.name, input]);
        rows.push(field(this.c(v, `${path}.label`, f.label), input));
      }
    } else {
      const id = uid("answer-text");
      const input = h("textarea", { id, "data-field": "answer-text", maxLength: 2000, rows: 3, required: true });
      input.value = mine?.value?.text ?? "";
      inputs.push(["text", input]);
      rows.push(field(t("your-answer"), input));
    }
    const submit = h("button", { type: "submit", className: "primary", "data-control": "answer" },
      t(privately ? (mine && !mine.withheld ? "update-answer" : "submit-privately") : (mine ? "update-answer" : "share-answer")));
    const actions = h("div", { className: "actions" }, submit);
    if (privately) {
      const keep = h("button", { type: "button", "data-control": "withhold" }, t("keep-private"));
      keep.addEventListener("click", () => this.act(keep, "withhold", {}));
      actions.append(keep);
    }
    const other = others.map((p) => p.name).join(t("and")) || t("the-other-person");
    const otherIsClinician = others.some((p) => this.api.people().get(p.id)?.role === "clinician");
    const privacy = !privately
      ? h("p", { className: "hint" }, t("privacy.shared"))
      : h("p", { className: "plain-note" }, otherIsClinician ? t("privacy.clinician") : t("privacy.private", { other }));
    let status = "";
    if (mine?.withheld) status = h("p", { className: "quiet", "data-mine": "" }, t("kept-private"));
    else if (mine) status = h("p", { className: "quiet", "data-mine": "" }, t("answer-in", { answer: this.answerText(v, mine) }));
    const form = h("form", { className: "tool-form" }, privacy, ...rows, actions, status);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = Object.fromEntries(inputs.map(([k, input]) => [k, input.value.trim()]));
      const empty = inputs.find(([k]) => !values[k]);
      if (empty) {
        this.say(t("fill-each"), "error");
        empty[1].focus();
        return;
      }
      this.act(submit, "answer", fields.length ? { fields: values } : { text: values.text });
    });
    return form;
  }

  /** A speaker-listener step: who holds the floor, the paraphrase, confirm or try again. */
  floor(v, name) {
    const t = this.api.t;
    const me = this.you?.id;
    const f = v.floor ?? {};
    const said = (f.paraphrases ?? []).filter((p) => p.round === f.round);
    const last = said[said.length - 1];
    const speaking = v.speaker === me;
    const listening = v.listener === me;
    const out = [
      ["holder", { holder: f.holder, listener: v.listener, speaking, listening, muted: f.youMuted }, () => h("div", { className: "floor" },
        h("p", { className: "floor-holder" }, speaking ? t("floor.yours") : t("floor.theirs", { name: name(f.holder) })),
        h("p", { className: "quiet" }, speaking
          ? t("floor.speak", { listener: name(v.listener) })
          : listening ? t("floor.listen") : t("floor.others", { listener: name(v.listener) })),
        f.youMuted ? h("p", { className: "mute-note" }, t("floor.muted", { name: name(f.holder) })) : "")],
    ];
    if (said.length) {
      out.push(["said", { said }, () => {
        const list = h("ul", { className: "answer-list" });
        for (const p of said) {
          const status = ["pending", "confirmed", "try-again"].includes(p.status) ? t(`paraphrase.${p.status}`) : p.status;
          list.append(h("li", {}, h("strong", {}, `${name(p.by)}: `), t("paraphrase.line", { text: p.text, status })));
        }
        return h("div", { className: "answers" }, h("h4", {}, t("what-listener-heard")), list);
      }]);
    }
    if (listening) {
      // A fresh, empty form after each paraphrase sent (the key changes with what was said).
      out.push([`paraphrase-${f.round}-${said.length}-${last?.text ?? ""}`, null, () => {
        const id = uid("paraphrase");
        const text = h("textarea", { id, "data-field": "paraphrase", rows: 3, maxLength: 2000, required: true });
        const send = h("button", { type: "submit", className: "primary", "data-control": "paraphrase" }, t("paraphrase"));
        const form = h("form", { className: "tool-form" }, field(t("what-i-heard"), text), h("div", { className: "actions" }, send));
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          if (!text.value.trim()) return this.say(t("write-heard-first"), "error");
          this.act(send, "paraphrase", { text: text.value.trim() });
        });
        return form;
      }]);
    }
    if (speaking && last?.status === "pending") {
      out.push(["confirm", { last }, () => h("div", { className: "actions" },
        this.button(t("confirm"), "confirm", { ok: true }, "primary"),
        this.button(t("try-again"), "confirm", { ok: false }))]);
    }
    if ((speaking || listening) && last?.status === "confirmed") {
      out.push(["swap", { round: f.round }, () => h("div", { className: "actions" },
        this.button(v.listener === me ? t("swap.you-next") : t("swap.next", { name: name(v.listener) }), "swap"))]);
    }
    return out;
  }

  controls(v) {
    const t = this.api.t;
    const step = v.step ?? {};
    const people = v.people ?? [];
    const everyoneDone = people.every((p) => (v.done ?? []).includes(p.id));
    return ["controls", { index: v.index, count: v.count, finished: v.finished, mode: step.mode, released: v.released, everyoneDone }, () => {
      const back = this.button(t("back"), "back");
      back.disabled = v.index === 0 && !v.finished;
      const actions = h("div", { className: "actions" }, back);
      if (!v.finished) actions.append(this.button(t(v.index + 1 >= v.count ? "finish" : "next-step"), "next"));
      let hint = "";
      if (!v.finished && step.mode === "private-reveal" && !v.released) {
        const release = this.button(t("release"), "release", {}, "primary");
        release.disabled = !everyoneDone;
        actions.prepend(release);
        if (!everyoneDone) hint = h("p", { className: "hint" }, t("release-hint"));
      }
      if (!v.finished && step.mode === "floor") actions.append(this.button(t("swap-speaker"), "swap"));
      actions.append(this.stopButton(t("stop")));
      return h("div", {}, actions, hint);
    }];
  }
}

function mayAnswerStep(step, v, me) {
  if (step.who === "clinician") return false; // the clinician answers from the clinician's own form
  if (step.who === "speaker" || step.who === "listener") return v[step.who] === me;
  return true;
}

function whoAnswers(step, v, name, them, me, t) {
  const speaker = name(v.speaker);
  const listener = name(v.listener);
  if (step.mode === "floor") {
    if (v.speaker === me) return t("who.you-speak", { listener });
    if (v.listener === me) return t("who.you-listen", { speaker });
    return t("who.speaks-listens", { speaker, listener });
  }
  if (step.mode === "private-reveal") return t(them ? "who.each-of-them-private" : "who.each-of-you-private");
  if (step.who === "speaker" || step.who === "listener") {
    return v[step.who] === me ? t("who.you-answer") : t("who.answers", { name: name(v[step.who]) });
  }
  if (step.who === "clinician") return t(them ? "who.you-write" : "who.clinician-writes");
  return t(them ? "who.each-of-them" : "who.each-of-you");
}

function answerList(people, answers, name, me, t, text) {
  const list = h("ul", { className: "answer-list" });
  for (const p of people) {
    const a = answers[p.id];
    const line = h("li", { "data-answer-of": p.id }, h("strong", {}, `${name(p.id)}: `));
    if (!a) line.append(h("span", { className: "quiet" }, t("not-answered")));
    else if (a.withheld) line.append(h("span", { className: "quiet" }, t(p.id === me ? "you-kept-private" : "they-kept-private")));
    else line.append(text(a));
    list.append(line);
  }
  return list;
}
