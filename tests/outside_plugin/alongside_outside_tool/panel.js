// The tally's browser panel: written as any outside package would, against the documented
// panel API only (docs/plugins.md, "Panels"). Everyone adds to the count and keeps a note of
// their own; the clinician also sees everyone's notes. Plain DOM, no helpers imported. Its words
// come from its own catalogue, locales/<locale>.json beside this file, through `api.t(key)`.

export function mount(element, api) {
  const count = document.createElement("p");
  count.setAttribute("role", "status");
  const add = button(api.t("add"), () => api.act("add", {}, add));

  const form = document.createElement("form");
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.id = `tally-note-${Math.random().toString(36).slice(2)}`;
  input.maxLength = 100;
  label.htmlFor = input.id;
  label.textContent = api.t("your-note");
  const save = button(api.t("save"), null, "submit");
  form.append(label, input, save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    api.act("note", { text: input.value }, save);
  });

  const notes = document.createElement("ul");
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(add);
  if (api.clinician) actions.append(button(api.t("stop"), () => api.stop()));
  element.append(count, actions, form, notes);

  return {
    update(view) {
      api.setTitle(api.t("heading", { count: view.count }));
      count.textContent = api.t("count", { count: view.count });
      notes.replaceChildren(...Object.entries(view.notes ?? {}).map(([who, text]) => {
        const item = document.createElement("li");
        item.textContent = `${api.nameOf(who)}: ${text}`;
        return item;
      }));
    },
    destroy() {
      element.replaceChildren();
    },
  };
}

function button(text, onClick, type = "button") {
  const node = document.createElement("button");
  node.type = type;
  node.textContent = text;
  if (onClick) node.addEventListener("click", onClick);
  return node;
}
