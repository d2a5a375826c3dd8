// The Unused view: loaded skills, agents, commands and MCP servers that no Claude Code session
// used in the chosen window, with what each costs in context, heaviest first by default.

import { call, type Page, type UnusedRow, type UnusedSort } from "./api";
import { ago, el, tokens } from "./format";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const UNUSED_PAGE = 200;

const view = { sort: "tokens" as UnusedSort, shown: UNUSED_PAGE };

let openProject: (id: string) => void = () => {};
let fail: (e: unknown) => void = () => {};

/** Wires the view's controls once. */
export function initUnused(open: (id: string) => void, onError: (e: unknown) => void): void {
  openProject = open;
  fail = onError;
  $("unused-days").addEventListener("change", () => {
    view.shown = UNUSED_PAGE;
    void loadUnused().catch(fail);
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>("#unused-table th button[data-usort]")) {
    b.addEventListener("click", () => {
      view.sort = (b.dataset.usort ?? "tokens") as UnusedSort;
      view.shown = UNUSED_PAGE;
      void loadUnused().catch(fail);
    });
  }
  $("unused-more").addEventListener("click", () => {
    view.shown += UNUSED_PAGE;
    void loadUnused().catch(fail);
  });
  const openFrom = (t: EventTarget | null) => {
    const id = (t as HTMLElement | null)?.closest<HTMLElement>("tr[data-project]")?.dataset.project;
    if (id) openProject(id);
  };
  $("unused-rows").addEventListener("click", (e) => openFrom(e.target));
  $("unused-rows").addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Enter") openFrom(e.target);
  });
}

/** Loads the first rows of the view in the chosen order and window. */
export async function loadUnused(): Promise<void> {
  const days = Number(($("unused-days") as HTMLSelectElement).value) || 30;
  const page = await call<Page<UnusedRow>>("unused", { days, sort: view.sort, skip: 0, limit: view.shown });
  const now = Date.now();
  const frag = document.createDocumentFragment();
  for (const u of page.items) {
    const tr = el("tr");
    tr.tabIndex = 0;
    tr.dataset.project = u.project_id;
    const name = el("td", "name");
    name.title = `${u.project_path}/${u.path}`;
    name.append(el("strong", undefined, u.name), el("small", "path", `${u.project_name} · ${u.scope}`));
    tr.append(
      name,
      el("td", "kind", u.kind.replace("_", " ")),
      el("td", "when", u.last_used ? ago(u.last_used, now) : "never"),
      el("td", "num", tokens(u.context_tokens)),
    );
    frag.append(tr);
  }
  $("unused-rows").replaceChildren(frag);
  $("unused-count").textContent = `${page.total} item${page.total === 1 ? "" : "s"} not used in ${days} days`;
  $("unused-more").hidden = page.total <= page.items.length;
  $("unused-note").textContent = page.indexed_since
    ? `Usage read from Claude Code's session logs since ${new Date(page.indexed_since).toLocaleDateString()}. ` +
      `Together they cost about ${tokens(page.total_tokens ?? 0)} tokens of context in their projects' sessions.`
    : "No Claude Code session logs indexed yet (or usage indexing is off in the settings).";
  for (const b of document.querySelectorAll<HTMLButtonElement>("#unused-table th button[data-usort]")) {
    b.classList.toggle("sorted", b.dataset.usort === view.sort);
  }
}
