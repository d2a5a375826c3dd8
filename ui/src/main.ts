// The dashboard: cached data on screen at once, kept live by the engine's events.

import {
  call,
  onCacheEvent,
  onOpenProject,
  onResync,
  type Artifact,
  type ArtifactUsage,
  type CacheEvent,
  type CommandError,
  type Finding,
  type Kind,
  type NotLoaded,
  type Page,
  type Problem,
  type Project,
  type ProjectCost,
  type ProjectDetail,
  type RecentChange,
  type SearchHit,
  type Settings,
  type StatusView,
} from "./api";
import { ago, bytes, debounce, el, sparkline, tokens } from "./format";
import { closeArtifact, initLibrary, loadLibrary, openArtifact, reloadLibrary } from "./library";
import { initUnused, loadUnused } from "./unused";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Kinds in display order, with their headings. */
const KINDS: [Kind, string][] = [
  ["memory", "Memory"],
  ["rule", "Rules"],
  ["skill", "Skills"],
  ["agent", "Agents"],
  ["command", "Commands"],
  ["hook", "Hooks"],
  ["mcp_server", "MCP servers"],
  ["output_style", "Output styles"],
  ["plugin", "Plugins"],
];
const SCOPE_ORDER = ["managed", "local", "project", "user", "plugin"];

/** Why an item is not loaded, in words. */
const NOT_LOADED: Record<NotLoaded, string> = {
  nested_skill: "nested too deep",
  plugin_disabled: "plugin disabled",
  plugin_not_installed: "plugin not installed",
  hooks_disabled: "hooks disabled",
  mcp_not_approved: "not approved",
  mcp_disabled: "disabled",
  shadowed: "shadowed",
  invalid_frontmatter: "invalid frontmatter",
  on_demand: "on demand",
  other_tool: "another tool's",
};

/** A path with the home folder as `~`, without its last component (the name is shown). */
function shortPath(path: string): string {
  const home = state.home;
  let p = home && path.startsWith(home + "/") ? "~" + path.slice(home.length) : path;
  const cut = p.lastIndexOf("/");
  if (cut > 0) p = p.slice(0, cut);
  return p;
}

/** A heading in running text: "Skills" → "skills", "MCP servers" keeps its acronym. */
function lower(label: string): string {
  return label.startsWith("MCP") ? label : label.toLowerCase();
}

function total(p: Project): number {
  return Object.values(p.counts).reduce((a, b) => a + (b ?? 0), 0);
}

/** Rows rendered at a time; "Show more" adds the next page. */
const PAGE = 200;

const state = {
  projects: [] as Project[],
  status: null as StatusView | null,
  sort: { key: "name", asc: true },
  shown: PAGE,
  openProject: null as string | null,
  refreshing: false,
  home: "" as string,
  /** The view on the left: projects, library or unused. */
  tab: "projects" as "projects" | "library" | "unused",
};

// ---- header -------------------------------------------------------------------------

function renderStatus(): void {
  const s = state.status;
  if (!s) return;
  const c = s.cache;
  $("stat-projects").textContent = `${c.projects}`;
  $("stat-projects").title = `${c.fresh} fresh · ${c.stale} stale · ${c.errored} error · ${c.missing} missing`;
  $("stat-artifacts").textContent = `${c.artifacts}`;
  $("stat-outdated").textContent = `${c.outdated}`;
  $("stat-modified").textContent = `${c.modified}`;
  $("stat-problems").textContent = `${c.problems ?? 0}`;
  $("problems-title").textContent = c.problems ? `Problems (${c.problems})` : "Problems";
  $("stat-db").textContent = bytes(c.db_bytes);
  const reads = c.hits + c.misses;
  $("stat-hits").textContent = reads ? `${Math.round((c.hits * 100) / reads)}%` : "–";
  $("stat-updated").textContent = ago(c.last_refresh ?? c.newest_refresh);
  const w = s.watch;
  $("stat-watch").textContent = w
    ? w.state === "degraded"
      ? `degraded (${w.polled.length} polled)`
      : w.state
    : "off";
  if (c.notes.length) showNotice(c.notes.join(" · "));
}

async function loadStatus(): Promise<void> {
  state.status = await call<StatusView>("status");
  renderStatus();
}

function showNotice(text: string, error = false): void {
  const n = $("notice");
  n.textContent = text;
  n.classList.toggle("error", error);
  n.hidden = false;
}

function fail(e: unknown): void {
  const err = e as CommandError;
  showNotice(err?.message ?? String(e), true);
}

// ---- project list -------------------------------------------------------------------

const STATUS_ORDER: Record<string, number> = { error: 0, missing: 1, stale: 2, fresh: 3 };

function sortValue(p: Project, key: string): string | number {
  switch (key) {
    case "status":
      return STATUS_ORDER[p.status] ?? 9;
    case "items":
      return total(p);
    case "problems":
      return p.problems ?? 0;
    case "context":
      return p.context_tokens ?? 0;
    case "updated":
      return p.refreshed_at ?? 0;
    default:
      return p.name.toLowerCase();
  }
}

function visibleProjects(): Project[] {
  const text = ($("project-filter") as HTMLInputElement).value.trim().toLowerCase();
  const status = ($("status-filter") as HTMLSelectElement).value;
  const { key, asc } = state.sort;
  return state.projects
    .filter((p) => !status || p.status === status)
    .filter((p) => !text || p.name.toLowerCase().includes(text) || p.path.toLowerCase().includes(text))
    .sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
}

function badge(status: string): HTMLElement {
  return el("span", `badge ${status}`, status);
}

function renderProjects(): void {
  const rows = $("project-rows");
  const list = visibleProjects();
  const frag = document.createDocumentFragment();
  const now = Date.now();
  for (const p of list.slice(0, state.shown)) {
    const tr = el("tr");
    tr.tabIndex = 0;
    tr.dataset.id = p.id;
    if (p.id === state.openProject) tr.classList.add("selected");
    const name = el("td", "name");
    name.title = p.path;
    name.append(el("strong", undefined, p.name), el("small", "path", shortPath(p.path)));
    const st = el("td");
    st.append(badge(p.status));
    const flags: string[] = [];
    if (p.outdated_count) flags.push(`${p.outdated_count} outdated`);
    if (p.modified_count) flags.push(`${p.modified_count} locally modified`);
    st.title = [p.status, ...flags].join(" · ");
    if (flags.length) st.append(el("span", "badge outdated", `${p.outdated_count + p.modified_count}`));
    const items = el("td", "num", `${total(p)}`);
    items.title = KINDS.filter(([k]) => p.counts[k])
      .map(([k, label]) => `${p.counts[k]} ${lower(label)}`)
      .join(" · ");
    const problems = el("td", "num");
    if (p.problems) problems.append(el("span", "badge problem", `${p.problems}`));
    const context = el("td", "num", tokens(p.context_tokens));
    context.title = `about ${p.context_tokens ?? 0} tokens before the first prompt`;
    tr.append(name, st, items, problems, context, el("td", "when", ago(p.refreshed_at, now)));
    frag.append(tr);
  }
  rows.replaceChildren(frag);
  $("more-projects").hidden = list.length <= state.shown;
  $("no-projects").hidden = state.projects.length > 0;
}

async function loadProjects(): Promise<void> {
  const page = await call<Page<Project>>("list_projects", {});
  state.projects = page.items;
  renderProjects();
}

// ---- project view -------------------------------------------------------------------

async function openProject(id: string): Promise<void> {
  state.openProject = id;
  const [d, cost, usage] = await Promise.all([
    call<ProjectDetail>("get_project", { project: id }),
    call<ProjectCost>("project_cost", { project: id }).catch(() => null),
    call<ArtifactUsage[]>("project_usage", { project: id }).catch(() => [] as ArtifactUsage[]),
  ]);
  // A slower answer for a project opened before must not replace the one opened since.
  if (state.openProject !== id) return;
  $("pv-name").textContent = d.name;
  $("pv-path").textContent = d.path;
  const counts = KINDS.filter(([k]) => d.counts[k]).map(([k, label]) => `${d.counts[k]} ${lower(label)}`);
  $("pv-meta").textContent =
    `${d.status} · refreshed ${ago(d.refreshed_at)} · ${counts.join(", ") || "nothing cached"}` +
    (d.problems ? ` · ${d.problems} problem${d.problems === 1 ? "" : "s"}` : "") +
    (d.error ? ` · error: ${d.error}` : "");
  const notes = $("pv-notes");
  notes.replaceChildren(...d.notes.map((n) => el("li", undefined, n)));
  renderCost(cost);
  const used = new Map(usage.map((u) => [usageKey(u.kind, u.project_path, u.path), u]));
  $("pv-artifacts").replaceChildren(itemRows(d.artifacts, used));
  $("project-view").hidden = false;
  renderProjects();
}

/** A project's items, grouped by kind, then by scope (a heading row per group). */
function itemRows(artifacts: Artifact[], used: Map<string, ArtifactUsage>): DocumentFragment {
  const rows = document.createDocumentFragment();
  // What each plugin provides, for its own row.
  const provided = new Map<string, number>();
  for (const a of artifacts) {
    if (a.plugin && a.kind !== "plugin") provided.set(a.plugin, (provided.get(a.plugin) ?? 0) + 1);
  }
  for (const [kind, label] of KINDS) {
    const ofKind = artifacts.filter((a) => a.kind === kind);
    if (!ofKind.length) continue;
    const scopes = [...new Set(ofKind.map((a) => a.scope ?? "project"))].sort(
      (x, y) => SCOPE_ORDER.indexOf(x) - SCOPE_ORDER.indexOf(y),
    );
    for (const scope of scopes) {
      const group = ofKind.filter((a) => (a.scope ?? "project") === scope);
      const head = el("tr", "group");
      const th = el("th", undefined, `${label} · ${scope} (${group.length})`);
      th.colSpan = 4;
      head.append(th);
      rows.append(head);
      for (const a of group) rows.append(itemRow(a, provided, used.get(usageKey(a.kind, a.project, a.path))));
    }
  }
  return rows;
}

/** What joins an item to its usage: kind, project folder, path in the project. */
function usageKey(kind: string, project: string, path: string): string {
  return `${kind}\u0000${project}\u0000${path}`;
}

/** Kinds whose items have "when was it last used" (the others are not invoked by name). */
const USED_KINDS = new Set<Kind>(["skill", "agent", "command", "mcp_server"]);

function itemRow(a: Artifact, provided: Map<string, number>, usage: ArtifactUsage | undefined): HTMLTableRowElement {
  const tr = el("tr");
  tr.dataset.path = a.path;
  if (a.kind !== "memory") {
    tr.dataset.name = a.name;
    tr.dataset.kind = a.kind;
    tr.dataset.plugin = a.plugin && a.kind !== "plugin" ? a.plugin : "";
    tr.tabIndex = 0;
  }
  if (a.loaded === false) tr.classList.add("not-loaded");
  const name = el("td", "name");
  name.title = a.path;
  name.append(el("strong", undefined, a.name), el("small", "path", a.path));
  // The group heading says the scope; a plugin's items say which plugin.
  if (a.plugin && a.kind !== "plugin") name.append(el("small", "path", `from ${a.plugin}`));
  const flags = el("td");
  if (a.loaded === false && a.not_loaded) {
    const quiet = a.not_loaded === "on_demand" || a.not_loaded === "other_tool";
    const why = NOT_LOADED[a.not_loaded] ?? a.not_loaded;
    const b = el("span", quiet ? "badge ondemand" : "badge notloaded", why);
    b.title = `not loaded: ${why}`;
    flags.append(b);
  } else if (a.loaded !== false) {
    flags.append(el("span", "badge fresh", "loaded"));
  }
  if (a.outdated) flags.append(el("span", "badge outdated", a.upstream_version ? `outdated → ${a.upstream_version}` : "outdated"));
  if (a.local_modified) flags.append(el("span", "badge modified", "locally modified"));
  if (a.frontmatter === "malformed") flags.append(el("span", "badge error", "bad frontmatter"));
  flags.title = flags.innerText;
  let text = a.description;
  if (a.kind === "plugin") {
    const n = provided.get(a.name) ?? 0;
    text = `${n} item${n === 1 ? "" : "s"} provided${a.description ? ` · ${a.description}` : ""}`;
  }
  const desc = el("td", "desc", text);
  desc.title = text;
  const last = el("td", "when");
  if (usage) {
    last.append(el("span", undefined, usage.last_used ? ago(usage.last_used) : "never"));
    if (usage.uses_90d) {
      last.append(sparkline(usage.daily, `${usage.uses_7d} uses in 7 days · ${usage.uses_30d} in 30 · ${usage.uses_90d} in 90`));
    }
    last.title = `${usage.uses_7d} in 7 days · ${usage.uses_30d} in 30 · ${usage.uses_90d} in 90 · ${usage.uses_total} in all`;
  } else if (USED_KINDS.has(a.kind)) {
    last.textContent = "–";
  }
  tr.append(name, flags, last, desc);
  return tr;
}

/** The project's context cost: the total in the summary, the heaviest items inside. */
function renderCost(cost: ProjectCost | null): void {
  const box = $("pv-cost") as HTMLDetailsElement;
  box.hidden = !cost;
  if (!cost) return;
  const over = cost.listing_budget > 0 && cost.listing_chars > cost.listing_budget;
  $("pv-cost-sum").textContent = `Context: about ${tokens(cost.total_tokens)} tokens before the first prompt`;
  $("pv-listing").textContent =
    `Skill listing: ${cost.listing_chars.toLocaleString()} of ${cost.listing_budget.toLocaleString()} characters` +
    (over ? " (over budget: some descriptions are cut or left out, see Problems)" : "");
  $("pv-listing").classList.toggle("over", over);
  const rows = cost.items.slice(0, 30).map((i) => {
    const tr = el("tr");
    tr.append(el("td", "name", `${i.name}`), el("td", "kind", `${i.kind.replace("_", " ")} · ${i.what} · ${i.scope}`), el("td", "num", `${i.tokens}`));
    return tr;
  });
  if (cost.items.length > 30) {
    const tr = el("tr");
    const td = el("td", "meta", `and ${cost.items.length - 30} lighter items`);
    td.colSpan = 3;
    tr.append(td);
    rows.push(tr);
  }
  $("pv-cost-rows").replaceChildren(...rows);
}

// ---- problems -----------------------------------------------------------------------

async function loadProblems(): Promise<void> {
  const list = await call<Problem[]>("problems", { limit: 100 });
  const items = list.map((p) => {
    const li = el("li");
    li.dataset.project = p.project;
    li.tabIndex = 0;
    li.append(el("strong", undefined, p.project_name), el("span", undefined, `${p.kind.replace("_", " ")} ${p.name}: ${p.detail}`));
    return li;
  });
  $("problems").replaceChildren(...items);
  $("problems-none").hidden = list.length > 0;
}

/** Cross-project findings under the problems: drift, copies unlike the user's, heavy projects. */
async function loadFindings(): Promise<void> {
  const list = await call<Finding[]>("findings", { limit: 50 });
  const items = list.map((f) => {
    const li = el("li");
    li.tabIndex = 0;
    if (f.name && f.kind) {
      li.dataset.artifact = f.name;
      li.dataset.kind = f.kind;
      li.dataset.plugin = f.plugin ?? "";
    } else if (f.project_id) {
      li.dataset.project = f.project_id;
    }
    const label = f.code === "drift" ? "drift" : f.code === "differs_from_user" ? "differs from user copy" : "heavy context";
    li.append(el("strong", undefined, f.name ?? f.project_name ?? ""), el("span", undefined, `${label}: ${f.detail}`));
    return li;
  });
  $("findings").replaceChildren(...items);
  $("findings-title").hidden = list.length === 0;
}

function closeProject(): void {
  state.openProject = null;
  $("project-view").hidden = true;
  renderProjects();
}

// ---- views --------------------------------------------------------------------------

async function showTab(tab: typeof state.tab): Promise<void> {
  state.tab = tab;
  for (const t of ["projects", "library", "unused"] as const) {
    $(`tab-${t}`).hidden = t !== tab;
    $(`tab-btn-${t}`).setAttribute("aria-selected", `${t === tab}`);
  }
  if (tab === "library") await loadLibrary();
  if (tab === "unused") await loadUnused();
}

// ---- search -------------------------------------------------------------------------

async function runSearch(): Promise<void> {
  const q = ($("search") as HTMLInputElement).value.trim();
  const box = $("search-results");
  if (!q) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const page = await call<Page<SearchHit>>("search", { query: q, limit: 30 });
  const list = el("ul");
  for (const h of page.items) {
    const li = el("li");
    li.tabIndex = 0;
    li.dataset.project = h.project;
    const name = el("strong", undefined, h.name);
    if (h.loaded === false && h.not_loaded) name.title = `not loaded: ${NOT_LOADED[h.not_loaded] ?? h.not_loaded}`;
    li.append(
      el("span", "kind", h.kind.replace("_", " ")),
      name,
      el("span", "proj", `${h.project_name} · ${h.scope ?? "project"}`),
      el("span", "desc", h.description),
    );
    list.append(li);
  }
  box.replaceChildren(el("p", "meta", `${page.total} match${page.total === 1 ? "" : "es"} for “${q}”`), list);
  box.hidden = false;
}

// ---- changes feed -------------------------------------------------------------------

async function loadChanges(): Promise<void> {
  const changes = await call<RecentChange[]>("recent_changes", { limit: 30 });
  const now = Date.now();
  const items = changes.map((c) => {
    const li = el("li");
    li.dataset.project = c.project_id;
    li.append(el("span", "when", ago(c.at, now)), el("strong", undefined, c.project_name), el("span", undefined, c.summary));
    return li;
  });
  $("changes").replaceChildren(...items);
}

// ---- refresh and progress -----------------------------------------------------------

function setProgress(done: number, total: number): void {
  $("progress").hidden = false;
  const pct = total ? Math.round((done * 100) / total) : 100;
  ($("progress-fill") as HTMLElement).style.width = `${pct}%`;
  $("progress-text").textContent = `Refreshing ${done}/${total}`;
  ($("refresh-btn") as HTMLButtonElement).disabled = true;
}

function endProgress(): void {
  $("progress").hidden = true;
  ($("refresh-btn") as HTMLButtonElement).disabled = false;
}

async function refreshAll(): Promise<void> {
  setProgress(0, state.status?.cache.projects ?? 0);
  try {
    await call("refresh", { force: true });
  } catch (e) {
    fail(e);
  } finally {
    endProgress();
    await reloadAll();
  }
}

// ---- settings -----------------------------------------------------------------------

/** The settings as last loaded into the form: Save sends only what the user changed. */
let shownSettings: Settings | null = null;

function formSettings(): Record<string, string> {
  const roots = ($("set-roots") as HTMLTextAreaElement).value
    .split("\n")
    .map((r) => r.trim())
    .filter(Boolean);
  return {
    "cache-ttl": ($("set-ttl") as HTMLInputElement).value.trim(),
    roots: roots.join("\n"),
    schedule: ($("set-schedule") as HTMLInputElement).value.trim(),
    notifications: `${($("set-notify") as HTMLInputElement).checked}`,
    "watch-paused": `${($("set-paused") as HTMLInputElement).checked}`,
    "usage-index": `${($("set-usage") as HTMLInputElement).checked}`,
  };
}

function settingsAsText(s: Settings): Record<string, string> {
  return {
    "cache-ttl": `${s.cache_ttl}`,
    roots: s.roots.join("\n"),
    schedule: s.schedule,
    notifications: `${s.notifications}`,
    "watch-paused": `${s.watch_paused}`,
    "usage-index": `${s.usage_index}`,
  };
}

/** Whether the app starts at login, as last shown in the settings. */
let shownAutostart = false;

async function openSettings(): Promise<void> {
  const s = await call<Settings>("get_settings");
  shownSettings = s;
  ($("set-ttl") as HTMLInputElement).value = `${s.cache_ttl}`;
  ($("set-roots") as HTMLTextAreaElement).value = s.roots.join("\n");
  ($("set-schedule") as HTMLInputElement).value = s.schedule;
  ($("set-notify") as HTMLInputElement).checked = s.notifications;
  ($("set-paused") as HTMLInputElement).checked = s.watch_paused;
  ($("set-usage") as HTMLInputElement).checked = s.usage_index;
  shownAutostart = await call<boolean>("get_autostart");
  ($("set-autostart") as HTMLInputElement).checked = shownAutostart;
  $("set-files").textContent = `Saved in ${s.config_file} · database ${s.db_path}`;
  $("settings").hidden = !$("settings").hidden;
}

async function saveSettings(ev: Event): Promise<void> {
  ev.preventDefault();
  const before = shownSettings ? settingsAsText(shownSettings) : {};
  const changed = Object.entries(formSettings()).filter(([k, v]) => before[k] !== v);
  try {
    for (const [key, value] of changed) {
      shownSettings = await call<Settings>("set_setting", { key, value });
    }
    const autostart = ($("set-autostart") as HTMLInputElement).checked;
    const autostartChanged = autostart !== shownAutostart;
    if (autostartChanged) shownAutostart = await call<boolean>("set_autostart", { enabled: autostart });
    showNotice(changed.length || autostartChanged ? "Settings saved" : "Nothing changed");
    await loadStatus();
  } catch (e) {
    fail(e);
  }
}

// ---- live updates -------------------------------------------------------------------

/** Reloads asked for or under way; `body[data-busy]` says so (the end-to-end tests wait for
 * a settled page before clicking rows a reload would replace). */
let reloading = 0;

function reloadAll(): void {
  reloading += 1;
  document.body.dataset.busy = "1";
  reloadDebounced();
}

/** Runs once after the last of several quick `reloadAll` calls: every one of them is done. */
const reloadDebounced = debounce(async () => {
  const asked = reloading;
  try {
    await Promise.all([loadStatus(), loadProjects(), loadChanges()]);
    await Promise.all([loadProblems(), loadFindings().catch(() => undefined)]);
    await reloadLibrary(state.tab === "library");
    if (state.tab === "unused") await loadUnused();
    if (state.openProject) await openProject(state.openProject).catch(() => closeProject());
  } catch (e) {
    fail(e);
  } finally {
    reloading -= asked;
    if (reloading <= 0) {
      reloading = 0;
      delete document.body.dataset.busy;
    }
  }
}, 150);

/** New uses in Claude Code's session logs: only "last used" and the Unused view change. */
const reloadUsage = debounce(async () => {
  try {
    if (state.openProject) await openProject(state.openProject);
    if (state.tab === "unused") await loadUnused();
  } catch (e) {
    fail(e);
  }
}, 300);

function onEvent(e: CacheEvent): void {
  switch (e.type) {
    case "refresh_started":
      state.refreshing = true;
      setProgress(0, e.total);
      break;
    case "refresh_progress":
      setProgress(e.done, e.total);
      break;
    case "refresh_completed":
      state.refreshing = false;
      endProgress();
      reloadAll();
      break;
    case "refresh_failed":
      if (e.final_attempt) showNotice(`${e.path}: ${e.error}`, true);
      break;
    case "project_changed":
    case "project_added":
    case "project_removed":
    case "project_missing":
    case "cleared":
    case "watch_status":
      reloadAll();
      break;
    case "usage_indexed":
      reloadUsage();
      break;
    default:
      break;
  }
}

// ---- wiring -------------------------------------------------------------------------

function wire(): void {
  initLibrary({
    openProject: (id) => void openProject(id).catch(fail),
    fail,
    showArtifactPanel: () => $("artifact-view").scrollIntoView({ block: "nearest" }),
  });
  initUnused((id) => void openProject(id).catch(fail), fail);
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav.tabs button[data-tab]")) {
    b.addEventListener("click", () => void showTab(b.dataset.tab as typeof state.tab).catch(fail));
  }
  // An item of the open project: where else it lives, and how its copies differ.
  const openItem = (t: EventTarget | null) => {
    const row = (t as HTMLElement | null)?.closest<HTMLElement>("tr[data-name]");
    if (row) void openArtifact(row.dataset.name ?? "", row.dataset.kind as Kind, row.dataset.plugin || null).catch(fail);
  };
  $("pv-artifacts").addEventListener("click", (e) => openItem(e.target));
  $("pv-artifacts").addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Enter") openItem(e.target);
  });
  const openFinding = (t: EventTarget | null) => {
    const li = (t as HTMLElement | null)?.closest<HTMLElement>("li");
    if (li?.dataset.artifact) void openArtifact(li.dataset.artifact, li.dataset.kind as Kind, li.dataset.plugin || null).catch(fail);
    else if (li?.dataset.project) void openProject(li.dataset.project).catch(fail);
  };
  $("findings").addEventListener("click", (e) => openFinding(e.target));
  $("findings").addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Enter") openFinding(e.target);
  });
  $("refresh-btn").addEventListener("click", () => void refreshAll());
  $("settings-btn").addEventListener("click", () => void openSettings().catch(fail));
  $("settings-form").addEventListener("submit", (e) => void saveSettings(e));
  $("pv-close").addEventListener("click", closeProject);
  $("pv-refresh").addEventListener("click", () => {
    if (state.openProject) void call("refresh", { project: state.openProject, force: true }).then(reloadAll, fail);
  });
  $("pv-reveal").addEventListener("click", () => {
    if (state.openProject) void call("reveal_project", { project: state.openProject }).catch(fail);
  });
  $("more-projects").addEventListener("click", () => {
    state.shown += PAGE;
    renderProjects();
  });
  const search = debounce(() => void runSearch().catch(fail), 120);
  $("search").addEventListener("input", search);
  $("project-filter").addEventListener("input", () => renderProjects());
  $("status-filter").addEventListener("change", () => renderProjects());
  for (const b of document.querySelectorAll<HTMLButtonElement>("th button[data-sort]")) {
    b.addEventListener("click", () => {
      const key = b.dataset.sort ?? "name";
      state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
      renderProjects();
    });
  }
  const openFrom = (target: EventTarget | null) => {
    const row = (target as HTMLElement | null)?.closest<HTMLElement>("[data-id],[data-project]");
    const id = row?.dataset.id ?? row?.dataset.project;
    if (id) void openProject(id).catch(fail);
  };
  for (const id of ["project-rows", "search-results", "changes", "problems"]) {
    $(id).addEventListener("click", (e) => openFrom(e.target));
    $(id).addEventListener("keydown", (e) => {
      if ((e as KeyboardEvent).key === "Enter") openFrom(e.target);
    });
  }
  document.addEventListener("keydown", (e) => {
    const typing = (e.target as HTMLElement).closest("input,textarea,select");
    if (e.key === "/" && !typing) {
      e.preventDefault();
      $("search").focus();
    } else if (e.key === "Escape") {
      if (!$("search-results").hidden) {
        ($("search") as HTMLInputElement).value = "";
        void runSearch();
      } else if (!$("artifact-view").hidden) closeArtifact();
      else closeProject();
    } else if ((e.key === "r" || e.key === "R") && !typing && !state.refreshing) {
      void refreshAll();
    }
  });
  // "updated 3 min ago" stays true while the window is open.
  window.setInterval(() => {
    renderStatus();
    renderProjects();
  }, 20_000);
}

/** The home folder, to show paths as `~/...` (the config file lives in `~/.skillmeat/`). */
async function loadHome(): Promise<void> {
  const s = await call<Settings>("get_settings");
  const cut = s.config_file.indexOf("/.skillmeat/");
  state.home = cut > 0 ? s.config_file.slice(0, cut) : "";
}

async function start(): Promise<void> {
  wire();

  // Listen first so nothing that happens while loading is missed.
  await onCacheEvent(onEvent);
  await onResync(reloadAll);
  try {
    await Promise.all([loadHome(), loadStatus(), loadProjects(), loadChanges(), loadProblems()]);
    void loadFindings().catch(() => undefined);
    renderProjects();
  } catch (e) {
    fail(e);
  }
  // Opened from a notification: the project it names (`#project=<id>`), and later ones.
  const named = /^#project=(.+)$/.exec(location.hash);
  if (named) await openProject(decodeURIComponent(named[1])).catch(fail);
  await onOpenProject((id) => void openProject(id).catch(fail));
  // First full paint with cached data, measured by the end-to-end test.
  (window as unknown as { __firstPaintMs: number }).__firstPaintMs = performance.now();
  document.body.dataset.ready = "1";
}

void start();
