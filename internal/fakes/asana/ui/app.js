// The Asana emulator's task pane. It renders what Asana renders around an
// App Components app: the entry point, the modal form, the lookup, widgets,
// the install popup and rule actions. Requests to the app are signed by the
// emulator and sent from this page, as Asana's page sends them.
"use strict";

const GENERIC = "Something went wrong. Try again later.";
let state = null;
let currentTask = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(method, path, body) {
  const resp = await fetch(path, {
    method, credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (resp.status === 401) { location.href = "/-/login?next=/"; throw new Error("signed out"); }
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

// callApp sends one App Components request from the browser: the emulator
// signs it, the browser calls the app (CORS), the emulator checks the answer.
async function callApp(call) {
  const prep = await api("POST", "/_emulator/ui/prepare", call);
  const headers = { "X-Asana-Request-Signature": prep.signature };
  if (prep.method === "POST") headers["Content-Type"] = "application/json";
  let status = 0, body = "";
  try {
    const resp = await fetch(prep.url, { method: prep.method, headers, body: prep.body || undefined, mode: "cors", credentials: "omit" });
    status = resp.status;
    body = await resp.text();
  } catch (err) {
    return api("POST", "/_emulator/ui/report", { call, url: prep.url, error: String(err) });
  }
  return api("POST", "/_emulator/ui/finish", { call, prepared: prep, status, body });
}

function relTime(iso) {
  const t = new Date(iso);
  if (isNaN(t)) return iso;
  const s = Math.round((Date.now() - t.getTime()) / 1000);
  const abs = Math.abs(s);
  const fmt = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  let txt;
  if (abs < 60) txt = "just now";
  else if (abs < 3600) txt = fmt(Math.round(abs / 60), "minute");
  else if (abs < 86400) txt = fmt(Math.round(abs / 3600), "hour");
  else txt = fmt(Math.round(abs / 86400), "day");
  if (txt === "just now") return txt;
  return s >= 0 ? `${txt} ago` : `in ${txt}`;
}

// dateTime is a datetime as Asana shows one in a widget: the date and time.
function dateTime(iso) {
  const t = new Date(iso);
  if (isNaN(t)) return iso;
  return t.toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" });
}

// ---- page ----

async function boot() {
  state = await api("GET", "/_emulator/ui/state");
  document.getElementById("me").textContent = `${state.user.name} (${state.user.login})`;
  const project = state.projects[0];
  document.getElementById("crumbs").textContent = `${state.workspace.name} › ${project.name}`;
  document.getElementById("project-name").textContent = project.name;
  const rulesButton = document.getElementById("rules-button");
  rulesButton.hidden = state.app.rule_actions.length === 0;
  rulesButton.onclick = () => openRules(project);
  document.getElementById("customize-button").onclick = () => openCustomize(project);
  document.getElementById("flash-close").onclick = () => { document.getElementById("flash").hidden = true; };
  renderInstallBanner();
  await loadTasks(project);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("task");
  if (wanted) openTask(wanted);
}

// appAdded tells whether the app is added to a project (Customize → Apps).
function appAdded(projectGid) { return (state.app_projects || []).includes(projectGid); }

// renderInstallBanner asks a person who has not connected their account
// to an app someone added to this project to connect it.
function renderInstallBanner() {
  const banner = document.getElementById("install-banner");
  const app = state.app;
  const project = state.projects[0];
  banner.hidden = !app.authentication_url || state.installed || !appAdded(project.gid);
  document.getElementById("install-text").textContent =
    `${app.name} is added to this project. Connect your account to use it.`;
  document.getElementById("install-button").onclick = async () => {
    const result = await runInstall();
    if (result !== "success") flash(installFailure(result), false);
  };
}

// flash shows a message under the top bar until dismissed.
function flash(text, good) {
  const box = document.getElementById("flash");
  box.className = "flash " + (good ? "good" : "bad");
  document.getElementById("flash-text").textContent = text;
  box.hidden = false;
  clearTimeout(flash.timer);
  if (good) flash.timer = setTimeout(() => { box.hidden = true; }, 10000);
}

// installFailure says how the authentication popup ended and how to try again.
function installFailure(result) {
  const name = state.app.name;
  if (result === "closed") {
    return `The ${name} window was closed before the connection finished, so nothing was changed. To try again, choose Customize → Apps → Add app (or Connect).`;
  }
  return `${name} is not connected: the authorization was declined in the popup (in Asana or in ${name}), so nothing was changed. To try again, choose Customize → Apps → Add app (or Connect).`;
}

// runInstall opens the app's authentication URL in a popup and waits for
// postMessage("success" | "error") from that URL's origin, or for the popup
// to be closed without one ("closed"). With a project it is the install
// wizard of Add app, which adds the app on success.
function runInstall(project) {
  const app = state.app;
  return new Promise((resolve) => {
    const popup = window.open(app.authentication_url, "asana_app_auth", "width=640,height=720");
    let done = false;
    const finish = async (result) => {
      if (done) return;
      done = true;
      window.removeEventListener("message", onMessage);
      clearInterval(watch);
      const res = await api("POST", "/_emulator/ui/installed", { result: result === "success" ? "success" : "error", project: project ? project.gid : "" });
      state.installed = res.installed;
      state.app_projects = res.app_projects;
      renderInstallBanner();
      try { popup && popup.close(); } catch (_) { /* already closed */ }
      resolve(result);
    };
    const onMessage = (ev) => {
      if (ev.origin !== app.auth_origin || (ev.data !== "success" && ev.data !== "error")) return;
      finish(ev.data);
    };
    // A popup that posts its message and closes at once can look closed
    // before the message event arrives: give it a second before deciding
    // it closed without one.
    let closedSince = 0;
    const watch = setInterval(() => {
      if (popup && !popup.closed) return;
      closedSince = closedSince || Date.now();
      if (Date.now() - closedSince >= 1000) finish("closed");
    }, 250);
    window.addEventListener("message", onMessage);
  });
}

// ---- Customize → Apps ----

// openCustomize is the project's Customize panel: its apps, and Add app
// for the registered one.
function openCustomize(project, message) {
  const app = state.app;
  const added = appAdded(project.gid);
  const what = [app.has_form ? app.modal_form_action_text : null, app.has_lookup ? app.lookup_action_text : null].filter(Boolean);
  const card = el("div", { class: "app-card", id: "app-card" },
    el("div", { class: "app-icon", "aria-hidden": "true", text: (app.name || "?").slice(0, 1) }),
    el("div", { class: "app-about" },
      el("div", { class: "app-name", text: app.name }),
      el("div", { class: "hint", text: added
        ? `Added to ${project.name}. On its tasks: ${app.name} ▾ (${what.join(", ")})${app.has_widget ? ", and a live card for each linked resource" : ""}.`
        : `Adds ${what.join(" and ")} to the tasks of ${project.name}${app.has_widget ? ", with a live card for each linked resource" : ""}.` })),
    added
      ? el("button", { class: "secondary small", id: "remove-app", text: "Remove", onclick: async () => {
        const res = await api("POST", `/_emulator/ui/projects/${project.gid}/remove-app`);
        state.app_projects = res.app_projects;
        renderInstallBanner();
        openCustomize(project, `${app.name} was removed from ${project.name}.`);
        if (currentTask) openTask(currentTask);
      } })
      : el("button", { class: "primary", id: "add-app", text: "+ Add app", onclick: () => openInstallWizard(project) }));
  openModal(`Customize ${project.name}`,
    message ? notice(message, true) : null,
    el("h3", { text: "Apps" }),
    card);
}

// openInstallWizard is Asana's install wizard: what the app does, then
// Continue opens the app's authentication popup.
function openInstallWizard(project, problem) {
  const app = state.app;
  const status = el("div", { id: "install-status" }, problem ? notice(problem) : null);
  const cont = el("button", { class: "primary", id: "install-continue", text: problem ? "Try again" : "Continue" });
  cont.onclick = async () => {
    cont.disabled = true;
    status.replaceChildren(el("p", { class: "busy", text: `Waiting for the ${app.name} window…` }));
    const result = app.authentication_url ? await runInstall(project) : "success";
    if (!app.authentication_url) {
      const res = await api("POST", "/_emulator/ui/installed", { result, project: project.gid });
      state.installed = res.installed;
      state.app_projects = res.app_projects;
    }
    if (result !== "success") { openInstallWizard(project, installFailure(result)); return; }
    closeModal();
    renderInstallBanner();
    flash(`${app.name} is added to ${project.name}. Open a task: ${app.name} ▾ has ${[app.has_form ? app.modal_form_action_text : null, app.has_lookup ? app.lookup_action_text : null].filter(Boolean).join(" and ")}.`, true);
    if (currentTask) openTask(currentTask);
  };
  openModal(`Add ${app.name} to ${project.name}`,
    el("p", { text: `${app.name} wants to be added to ${project.name}. Everyone in the project will see it on its tasks:` }),
    el("ul", { class: "wizard-list" },
      app.has_form ? el("li", { text: `${app.modal_form_action_text}: a form that creates one from the task` }) : null,
      app.has_lookup ? el("li", { text: `${app.lookup_action_text}: attach one by its key or link` }) : null,
      app.has_widget ? el("li", { text: "A live card on the task for each linked resource" }) : null),
    app.authentication_url ? el("p", { class: "hint", text: `Continue opens ${app.name}'s own window, where you allow it to use your account.` }) : null,
    status,
    el("div", { class: "actions" }, el("button", { class: "secondary", text: "Cancel", onclick: closeModal }), cont));
}

async function loadTasks(project) {
  const tasks = await api("GET", `/_emulator/ui/tasks?project=${encodeURIComponent(project.gid)}`);
  const list = document.getElementById("task-list");
  list.replaceChildren(...tasks.map((t) => el("li", {
    "data-gid": t.gid, class: currentTask === t.gid ? "selected" : "", onclick: () => openTask(t.gid),
  }, el("span", { class: "check" + (t.completed ? " done" : ""), text: "✓" }),
     el("span", { class: "name", text: t.name }),
     el("span", { class: "meta", text: [t.assignee, t.due_on].filter(Boolean).join(" · ") }))));
}

// openTask renders a task in the pane. Calls overlap (a click, a refresh
// after a change, the end of an install); only the newest one renders, so a
// slow older answer never replaces a newer pane.
let openSeq = 0;
async function openTask(gid) {
  const mine = ++openSeq;
  currentTask = gid;
  history.replaceState(null, "", `#task=${gid}`);
  document.querySelectorAll("#task-list li").forEach((li) => li.classList.toggle("selected", li.dataset.gid === gid));
  const t = await api("GET", `/_emulator/ui/tasks/${gid}`);
  if (mine !== openSeq) return;
  const pane = document.getElementById("pane");
  // Changes from the pane go through the emulator like API writes: the
  // same events and system stories.
  const update = async (fields) => {
    try { await api("POST", `/_emulator/ui/tasks/${gid}/update`, fields); } catch (err) { alert(err.message); }
    refresh();
  };
  const check = el("button", { class: "check" + (t.completed ? " done" : ""), title: "Mark complete", text: "✓",
    onclick: () => update({ completed: !t.completed }) });
  const select = (attrs, options, value, onchange) => el("select", { ...attrs, onchange: (ev) => onchange(ev.target.value) },
    ...options.map((o) => el("option", { value: o.gid, selected: o.gid === value, text: o.name })));
  const fields = el("dl", { class: "fields" },
    el("dt", { text: "Assignee" }),
    el("dd", {}, select({ id: "assignee-select" }, [{ gid: "", name: "No assignee" }, ...t.users], t.assignee_gid || "",
      (v) => update({ assignee: v || null }))),
    el("dt", { text: "Due date" }),
    el("dd", {}, el("input", { type: "date", id: "due-input", value: t.due_on || "",
      onchange: (ev) => update({ due_on: ev.target.value || null }) })),
    el("dt", { text: "Section" }),
    el("dd", {}, select({ id: "section-select" }, t.sections, t.section, (v) => update({ section: v }))),
    ...(t.custom_fields || []).flatMap((cf) => [el("dt", { text: cf.name }), cf.type === "enum"
      ? el("dd", {}, select({ "data-field": cf.gid, class: "custom-field" }, [{ gid: "", name: "—" }, ...cf.options], cf.value || "",
        (v) => update({ custom_fields: { [cf.gid]: v || null } })))
      : el("dd", { text: cf.display_value || "—" })]));
  const widgets = el("div", { id: "widgets" });
  const attachments = el("ul", { class: "attachments", id: "attachments" },
    ...(t.attachments || []).map((a) => el("li", { "data-gid": a.gid },
      el("span", { class: "host", text: a.host }),
      el("a", { href: a.view_url || a.url || a.download_url || "#", target: "_blank", rel: "noopener", text: a.name }),
      a.connected_to_app ? el("span", { class: "hint", text: `connected to ${state.app.name}` }) : null)));
  const comment = el("input", { placeholder: "Add a comment", id: "comment-input" });
  pane.replaceChildren(
    el("div", { class: "task-title" }, check, el("h1", { text: t.name })),
    el("div", { class: "toolbar" }, entryPoint(t)),
    fields,
    el("h3", { text: "Description" }), el("div", { class: "notes", text: t.notes || "" }),
    el("h3", { text: "Attachments" }), attachments,
    widgets,
    ruleButtons(t) || "",
    el("h3", { text: "Activity" }),
    el("ul", { class: "stories" }, ...(t.stories || []).map((s) => el("li", { class: s.type === "system" ? "system" : "comment", "data-subtype": s.subtype },
      el("span", { class: "who", text: s.author }), el("span", { class: "text", text: s.text }),
      el("span", { class: "hint", text: " · " + relTime(s.created_at) })))),
    el("form", { class: "comment-box", onsubmit: async (ev) => {
      ev.preventDefault();
      if (!comment.value.trim()) return;
      await api("POST", `/_emulator/ui/tasks/${gid}/comments`, { text: comment.value.trim() });
      refresh();
    } }, comment, el("button", { class: "secondary", text: "Comment" })));
  for (const a of t.attachments || []) {
    if (!(a.widget && state.app.has_widget && appAdded(t.project))) continue;
    const card = await renderWidget(t, a);
    if (mine !== openSeq) return;
    widgets.append(card);
  }
}

function refresh() {
  loadTasks(state.projects[0]);
  if (currentTask) openTask(currentTask);
}

// ---- entry point ----

function entryPoint(t) {
  const app = state.app;
  const items = [];
  if (!appAdded(t.project)) return el("span", { class: "hint", id: "no-apps", text: "Apps added to this project appear here (Customize → Apps)." });
  if (app.has_form) items.push({ id: "form", label: app.modal_form_action_text, run: () => openForm(t) });
  if (app.has_lookup) items.push({ id: "lookup", label: app.lookup_action_text, run: () => openLookup(t) });
  if (items.length === 0) return el("span");
  if (items.length === 1) {
    return el("button", { class: "secondary", id: "entry-point", onclick: items[0].run, text: `${app.name}: ${items[0].label}` });
  }
  const menu = el("div", { class: "menu", hidden: true },
    ...items.map((it) => el("button", { "data-entry": it.id, onclick: () => { menu.hidden = true; it.run(); }, text: it.label })));
  return el("div", { class: "entry" },
    el("button", { class: "secondary", id: "entry-point", onclick: () => { menu.hidden = !menu.hidden; }, text: `${app.name} ▾` }),
    menu);
}

// ---- modal ----

function openModal(title, ...content) {
  document.getElementById("modal-title").textContent = title;
  document.getElementById("modal-body").replaceChildren(...content);
  document.getElementById("modal").hidden = false;
}
function closeModal() { document.getElementById("modal").hidden = true; }
document.getElementById("modal-close").onclick = closeModal;
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeModal(); });

function notice(text, good) { return el("div", { class: "notice " + (good ? "good" : "bad"), role: "alert", text }); }

function showFailure(res, retry) {
  const parts = [notice(res.message || GENERIC)];
  if (res.needs_auth && state.app.authentication_url) {
    const box = el("div");
    parts.push(el("button", { class: "primary", text: `Connect ${state.app.name}`, onclick: async () => {
      const result = await runInstall();
      if (result === "success") { retry(); return; }
      box.replaceChildren(notice(installFailure(result)));
    } }), box);
  }
  return parts;
}

// ---- modal form (form_metadata_v0) ----

async function openForm(t) {
  openModal(state.app.modal_form_action_text, el("p", { class: "busy", text: "Loading…" }));
  const res = await callApp({ kind: "form_metadata", task: t.gid });
  if (!res.ok) { openModal(state.app.modal_form_action_text, ...showFailure(res, () => openForm(t))); return; }
  renderForm(res.data, { task: t, kind: "task" });
}

// renderForm draws a form_metadata_v0 form. ctx.kind is "task" (modal form)
// or "rule" (rule action configuration).
function renderForm(form, ctx) {
  const md = form.metadata;
  const values = {};
  const inputs = {};
  const fieldsBox = el("div", { class: "form-fields", id: "form-fields" });
  const status = el("div");
  let changeTimer = null;

  const collect = () => { for (const [id, get] of Object.entries(inputs)) values[id] = get(); return values; };
  const onWatched = (field) => {
    if (!field.is_watched || !md.on_change_callback) return;
    clearTimeout(changeTimer);
    changeTimer = setTimeout(async () => {
      const call = ctx.kind === "task"
        ? { kind: "form_change", url: md.on_change_callback, task: ctx.task.gid, values: collect(), changed_field: field.id }
        : { kind: "action_change", url: md.on_change_callback, project: ctx.project.gid, action_type: ctx.actionType, action: ctx.action, values: collect(), changed_field: field.id };
      const res = await callApp(call);
      if ((res.ok || res.status === 400) && res.data && res.data.template) renderForm(res.data, ctx);
      else status.replaceChildren(...showFailure(res, () => {}));
    }, field.type.endsWith("text") ? 400 : 0);
  };

  for (const f of md.fields) {
    const box = el("div", { class: "form-field" + (f.width === "half" ? " half" : "") + (f.error ? " has-error" : ""), "data-field": f.id });
    const label = f.name ? el("span", { class: "label" }, f.name, f.is_required ? el("span", { class: "req", text: "*" }) : null) : null;
    let control;
    switch (f.type) {
      case "static_text":
        box.append(el(f.style === "header" ? "div" : "p", { class: f.style === "header" ? "static-header" : "", text: f.name }));
        fieldsBox.append(box);
        continue;
      case "single_line_text":
        control = el("input", { name: f.id, value: f.value || "", placeholder: f.placeholder, maxlength: 200, oninput: () => onWatched(f) });
        inputs[f.id] = () => control.value;
        break;
      case "multi_line_text":
        control = el("textarea", { name: f.id, placeholder: f.placeholder, maxlength: 3000, oninput: () => onWatched(f) });
        control.value = f.value || "";
        inputs[f.id] = () => control.value;
        break;
      case "rich_text":
        control = el("div", { class: "rich", contenteditable: "true", "data-name": f.id, "data-placeholder": f.placeholder || "", oninput: () => onWatched(f) });
        control.innerHTML = (f.value || "").replace(/^<BODY>|<\/BODY>$/gi, "");
        // Links in rich text open on click, as in Asana's editor.
        control.querySelectorAll("a[href]").forEach((a) => { a.target = "_blank"; a.rel = "noopener"; a.contentEditable = "false"; });
        inputs[f.id] = () => `<BODY>${control.innerHTML}</BODY>`;
        break;
      case "dropdown":
        control = el("select", { name: f.id, onchange: () => onWatched(f) },
          el("option", { value: "", text: f.placeholder || "Select…" }),
          ...f.options.map((o) => el("option", { value: o.id, selected: o.id === f.value, text: o.label })));
        inputs[f.id] = () => control.value || null;
        break;
      case "radio_button":
        control = el("div", {}, ...f.options.map((o) => el("label", { class: "option" },
          el("input", { type: "radio", name: f.id, value: o.id, checked: o.id === f.value, onchange: () => onWatched(f) }),
          el("span", {}, o.label, o.sub_label ? el("span", { class: "sub", text: o.sub_label }) : null))));
        inputs[f.id] = () => { const c = control.querySelector("input:checked"); return c ? c.value : null; };
        break;
      case "checkbox":
        control = el("div", {}, ...f.options.map((o) => el("label", { class: "option" },
          el("input", { type: "checkbox", name: f.id, value: o.id, checked: (f.value || []).includes(o.id), onchange: () => onWatched(f) }),
          el("span", { text: o.label }))));
        inputs[f.id] = () => [...control.querySelectorAll("input:checked")].map((c) => c.value);
        break;
      case "date":
        control = el("input", { type: "date", name: f.id, value: (f.value || "").slice(0, 10), onchange: () => onWatched(f) });
        inputs[f.id] = () => control.value || null;
        break;
      case "datetime": {
        const local = f.value ? new Date(f.value) : null;
        const pad = (n) => String(n).padStart(2, "0");
        const v = local && !isNaN(local) ? `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())}T${pad(local.getHours())}:${pad(local.getMinutes())}` : "";
        control = el("input", { type: "datetime-local", name: f.id, value: v, onchange: () => onWatched(f) });
        inputs[f.id] = () => control.value ? new Date(control.value).toISOString() : null;
        break;
      }
      case "typeahead": {
        let chosen = f.value || null;
        const ta = typeaheadInput({
          placeholder: f.placeholder || "Type to search",
          search: (q) => callApp(ctx.kind === "task"
            ? { kind: "form_typeahead", url: f.typeahead_url, task: ctx.task.gid, query: q }
            : { kind: "action_typeahead", url: f.typeahead_url, query: q }),
          pick: (item) => { chosen = item; onWatched(f); },
          initial: chosen,
          name: f.id,
        });
        control = ta;
        inputs[f.id] = () => chosen;
        break;
      }
      default:
        control = el("p", { class: "error", text: `Unsupported field type ${f.type}` });
    }
    box.append(label, control);
    if (f.error) box.append(el("div", { class: "field-error", text: f.error }));
    fieldsBox.append(box);
  }

  const submit = el("button", { class: "primary", id: "form-submit", disabled: !md.on_submit_callback, text: md.submit_button_text || "Submit" });
  const ruleName = ctx.kind === "rule" ? el("input", { name: "rule_name", value: ctx.ruleName || "", placeholder: "Rule name" }) : null;
  const formEl = el("form", { id: "app-form", novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    collect();
    let missing = false;
    for (const f of md.fields) {
      const v = values[f.id];
      const empty = v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0) || v === "<BODY></BODY>";
      const box = fieldsBox.querySelector(`[data-field="${CSS.escape(f.id)}"]`);
      box.querySelectorAll(".field-error.required").forEach((n) => n.remove());
      if (f.is_required && empty) {
        missing = true;
        box.classList.add("has-error");
        box.append(el("div", { class: "field-error required", text: "This field is required." }));
      }
    }
    if (missing) return;
    submit.disabled = true;
    status.replaceChildren(el("p", { class: "busy", text: "Submitting…" }));
    const call = ctx.kind === "task"
      ? { kind: "form_submit", url: md.on_submit_callback, task: ctx.task.gid, values }
      : { kind: "action_submit", url: md.on_submit_callback, project: ctx.project.gid, action_type: ctx.actionType, action: ctx.action, rule_name: ruleName.value || ctx.ruleName, values };
    const res = await callApp(call);
    submit.disabled = false;
    if (res.ok) {
      if (ctx.kind === "task") {
        if (res.message) { status.replaceChildren(notice(res.message)); return; }
        closeModal();
        await openTask(ctx.task.gid);
        loadTasks(state.projects[0]);
      } else {
        state = await api("GET", "/_emulator/ui/state");
        openRules(ctx.project, "Rule saved.");
        if (currentTask) openTask(currentTask);
      }
      return;
    }
    if (res.status === 400 && res.data && res.data.template) { renderForm(res.data, ctx); return; }
    status.replaceChildren(...showFailure(res, () => {}));
  } }, ruleName ? el("label", {}, "Rule name", ruleName) : null, fieldsBox, status, el("div", { class: "actions" }, submit));
  openModal(md.title, formEl);
}

// typeaheadInput is a text input that asks search(query) for items as the
// user types and calls pick(item) on a choice.
function typeaheadInput(opts) {
  const input = el("input", { placeholder: opts.placeholder, autocomplete: "off", name: opts.name || "", class: "ta-input" });
  const list = el("ul", { hidden: true, class: "ta-list" });
  const chosen = el("div", { class: "ta-chosen" });
  const box = el("div", { class: "typeahead" }, input, list, chosen);
  const show = (item) => chosen.replaceChildren(item ? el("span", { class: "chosen" },
    item.icon_url ? el("img", { class: "icon", src: item.icon_url, alt: "" }) : null, item.title) : "");
  show(opts.initial);
  let timer = null, seq = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value;
    timer = setTimeout(async () => {
      const mine = ++seq;
      const res = await opts.search(q);
      if (mine !== seq) return;
      if (!res.ok) { list.replaceChildren(el("li", { class: "ta-header error", text: res.message || GENERIC })); list.hidden = false; return; }
      const data = res.data;
      // replaceChildren would print a null argument as the text "null".
      list.replaceChildren(...[
        data.header ? el("li", { class: "ta-header", text: data.header }) : null,
        ...data.items.map((it) => el("li", { class: "ta-item", onmousedown: (ev) => { ev.preventDefault(); list.hidden = true; input.value = ""; show(it); opts.pick(it); } },
          it.icon_url ? el("img", { class: "icon", src: it.icon_url, alt: "" }) : null, it.title,
          it.subtitle ? el("span", { class: "ta-sub", text: it.subtitle }) : null)),
      ].filter(Boolean));
      list.hidden = data.items.length === 0 && !data.header;
    }, 200);
  });
  input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
  return box;
}

// ---- lookup ----

function openLookup(t) {
  const app = state.app;
  const status = el("div");
  const input = el("input", { placeholder: app.lookup_placeholder, id: "lookup-input", autocomplete: "off" });
  const attach = async (query) => {
    status.replaceChildren(el("p", { class: "busy", text: "Attaching…" }));
    let res;
    try {
      res = await callApp({ kind: "attach", task: t.gid, query });
    } catch (err) {
      res = { ok: false, message: err.message || GENERIC };
    }
    if (res.ok && !res.message) { closeModal(); await openTask(t.gid); loadTasks(state.projects[0]); return; }
    status.replaceChildren(...showFailure(res, () => attach(query)));
  };
  let control = input;
  if (app.has_typeahead) {
    control = typeaheadInput({ placeholder: app.lookup_placeholder, name: "lookup",
      search: (q) => callApp({ kind: "lookup_typeahead", task: t.gid, query: q }),
      pick: (item) => attach(item.value) });
    control.querySelector("input").id = "lookup-input";
  }
  const form = el("form", { id: "lookup-form", onsubmit: (ev) => {
    ev.preventDefault();
    const q = (control.querySelector ? control.querySelector("input") || input : input).value.trim();
    if (q) attach(q);
  } }, control, status, el("div", { class: "actions" }, el("button", { class: "primary", text: "Attach" })));
  openModal(app.lookup_action_text, form);
}

// ---- widgets (summary_with_details_v0) ----

async function renderWidget(t, a) {
  const res = await callApp({ kind: "widget", task: t.gid, attachment: a.gid });
  if (!res.ok) {
    return el("div", { class: "widget failed", "data-attachment": a.gid },
      el("div", { class: "w-title" }, el("a", { href: a.url, target: "_blank", rel: "noopener", text: a.name })),
      ...showFailure(res, () => openTask(t.gid)));
  }
  const md = res.data.metadata;
  const fields = el("div", { class: "w-fields" }, ...md.fields.flatMap((f) => {
    let value;
    switch (f.type) {
      case "pill": value = el("span", { class: `pill ${f.color}`, text: f.text }); break;
      case "datetime_with_icon": value = el("span", { title: f.datetime || "" },
        f.icon_url ? el("img", { class: "icon", src: f.icon_url, alt: "" }) : null, f.datetime ? dateTime(f.datetime) : "—"); break;
      default: value = el("span", {}, f.icon_url ? el("img", { class: "icon", src: f.icon_url, alt: "" }) : null, f.text);
    }
    return [el("span", { class: "w-name", text: f.name }), value];
  }));
  const foot = md.footer;
  let footText = "";
  if (foot.footer_type === "custom_text") footText = foot.text;
  else if (foot.footer_type === "created") footText = `Created ${relTime(foot.created_at)}`;
  else if (foot.footer_type === "updated") footText = `Updated ${relTime(foot.last_updated_at)}`;
  return el("div", { class: "widget", "data-attachment": a.gid },
    el("div", { class: "w-title" }, el("a", { href: a.url, target: "_blank", rel: "noopener", text: md.title })),
    el("div", { class: "w-sub" }, md.subicon_url ? el("img", { class: "icon", src: md.subicon_url, alt: "" }) : null,
      md.subtitle || `Open in ${state.app.name}`),
    fields,
    el("div", { class: "w-foot" },
      el("span", {}, foot.icon_url ? el("img", { class: "icon", src: foot.icon_url, alt: "" }) : null, footText),
      md.num_comments !== undefined ? el("span", { class: "w-comments", text: `${md.num_comments} comment${md.num_comments === 1 ? "" : "s"}` }) : el("span")));
}

// ---- rules ----

function ruleButtons(t) {
  const rules = state.rules.filter((r) => r.project === t.project);
  if (rules.length === 0) return null;
  const out = el("div", { id: "rule-results" });
  return el("div", {}, el("h3", { text: "Rules" }),
    ...rules.map((r) => el("button", { class: "secondary small", "data-rule": r.gid, text: `Run rule “${r.name}” on this task`,
      onclick: async () => {
        out.replaceChildren(el("p", { class: "busy", text: "Running…" }));
        const res = await api("POST", "/_emulator/ui/run-rule", { rule: r.gid, task: t.gid });
        if (!res.ok) { out.replaceChildren(notice(res.message || GENERIC)); return; }
        const d = res.data || {};
        out.replaceChildren(notice(d.error || (d.action_result === "resources_created"
          ? "Created: " + (d.resources_created || []).map((x) => x.resource_name).join(", ")
          : "Rule ran."), !d.error),
        ...(d.resources_created || []).map((x) => el("div", {}, el("a", { href: x.resource_url, target: "_blank", rel: "noopener", text: x.resource_name }))));
      } })), out);
}

function openRules(project, message) {
  const saved = state.rules.filter((r) => r.project === project.gid);
  openModal("Rules",
    message ? notice(message, true) : null,
    el("h3", { text: "Saved rules" }),
    saved.length ? el("ul", { class: "rules-list" }, ...saved.map((r) => el("li", {}, el("span", { text: r.name }),
      el("button", { class: "link", text: "Edit", onclick: () => openRuleForm(project, r.action_type, r.gid, r.name) })))) : el("p", { class: "hint", text: "No rules yet." }),
    el("h3", { text: `Add an action from ${state.app.name}` }),
    ...state.app.rule_actions.map((ra) => el("button", { class: "secondary", "data-action-type": ra.id, text: ra.display_name || ra.id,
      onclick: () => openRuleForm(project, ra.id, undefined, ra.display_name) })));
}

async function openRuleForm(project, actionType, action, ruleName) {
  openModal("Rule action", el("p", { class: "busy", text: "Loading…" }));
  const res = await callApp({ kind: "action_metadata", project: project.gid, action_type: actionType, action });
  if (!res.ok) { openModal("Rule action", ...showFailure(res, () => openRuleForm(project, actionType, action, ruleName))); return; }
  renderForm(res.data, { kind: "rule", project, actionType, action, ruleName });
}

boot().catch((err) => {
  document.getElementById("pane").replaceChildren(notice(String(err)));
});
