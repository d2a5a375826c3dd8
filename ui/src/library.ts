// The Library view: every artifact across projects (copies, variants, context cost), and an
// artifact's copies grouped by variant with a diff of two variants read from disk on demand.

import {
  call,
  type Kind,
  type LibraryEntry,
  type LibrarySort,
  type Page,
  type WhereEntry,
} from "./api";
import { ago, el, tokens } from "./format";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the rest of the dashboard lends this view. */
export interface LibraryHost {
  openProject(id: string): void;
  fail(e: unknown): void;
  /** Marks the right-hand panel in use by the artifact view (closes the project view). */
  showArtifactPanel(): void;
}

const LIB_PAGE = 100;

const lib = {
  sort: "copies" as LibrarySort,
  shown: LIB_PAGE,
  /** The identity the artifact view shows, to refresh it live. */
  open: null as { name: string; kind: Kind; plugin: string | null } | null,
  /** Copy ids picked for the diff, one per variant. */
  picked: [] as number[],
};

let host: LibraryHost;

/** Wires the view's controls once. */
export function initLibrary(h: LibraryHost): void {
  host = h;
  for (const id of ["lib-kind", "lib-drifted"]) {
    $(id).addEventListener("change", () => {
      lib.shown = LIB_PAGE;
      void loadLibrary().catch(host.fail);
    });
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>("#library-table th button[data-lsort]")) {
    b.addEventListener("click", () => {
      lib.sort = (b.dataset.lsort ?? "copies") as LibrarySort;
      lib.shown = LIB_PAGE;
      void loadLibrary().catch(host.fail);
    });
  }
  $("lib-more").addEventListener("click", () => {
    lib.shown += LIB_PAGE;
    void loadLibrary().catch(host.fail);
  });
  const openFrom = (t: EventTarget | null) => {
    const row = (t as HTMLElement | null)?.closest<HTMLElement>("tr[data-name]");
    if (row) void openArtifact(row.dataset.name ?? "", row.dataset.kind as Kind, row.dataset.plugin || null);
  };
  $("library-rows").addEventListener("click", (e) => openFrom(e.target));
  $("library-rows").addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Enter") openFrom(e.target);
  });
  $("av-close").addEventListener("click", closeArtifact);
  $("av-diff").addEventListener("click", () => void showDiff().catch(host.fail));
  $("av-variants").addEventListener("click", (e) => {
    const t = e.target as HTMLElement;
    const proj = t.closest<HTMLElement>("[data-project]");
    if (proj?.dataset.project && !t.closest("input")) host.openProject(proj.dataset.project);
  });
}

/** Loads the library's first pages in the chosen order. */
export async function loadLibrary(): Promise<void> {
  const kind = ($("lib-kind") as HTMLSelectElement).value;
  const drifted = ($("lib-drifted") as HTMLInputElement).checked;
  const page = await call<Page<LibraryEntry>>("library", {
    kind: kind || null,
    drifted,
    sort: lib.sort,
    skip: 0,
    limit: lib.shown,
  });
  const frag = document.createDocumentFragment();
  for (const e of page.items) {
    const tr = el("tr");
    tr.tabIndex = 0;
    tr.dataset.name = e.name;
    tr.dataset.kind = e.kind;
    tr.dataset.plugin = e.plugin ?? "";
    const name = el("td", "name");
    name.append(el("strong", undefined, e.name));
    if (e.plugin) name.append(el("small", "path", `from ${e.plugin}`));
    const variants = el("td", "num");
    variants.append(el("span", e.drifted ? "badge outdated" : "badge fresh", `${e.variants}`));
    variants.title = e.drifted ? `${e.variants} different contents across its copies` : "every copy is the same";
    tr.append(
      name,
      el("td", "kind", e.kind.replace("_", " ")),
      el("td", "num", `${e.copies}`),
      variants,
      el("td", "num", tokens(e.tokens)),
    );
    frag.append(tr);
  }
  $("library-rows").replaceChildren(frag);
  $("lib-count").textContent = `${page.total} artifact${page.total === 1 ? "" : "s"}${drifted ? " with drifted copies" : ""}`;
  $("lib-more").hidden = page.total <= page.items.length;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#library-table th button[data-lsort]")) {
    b.classList.toggle("sorted", b.dataset.lsort === lib.sort);
  }
}

/** Shows every copy of one artifact, grouped by variant. */
export async function openArtifact(name: string, kind: Kind, plugin: string | null): Promise<void> {
  lib.open = { name, kind, plugin };
  lib.picked = [];
  const found = await call<WhereEntry[]>("where_is", { name, kind });
  if (lib.open?.name !== name || lib.open.kind !== kind) return;
  const w = found.find((x) => (x.plugin ?? null) === plugin) ?? found[0];
  host.showArtifactPanel();
  $("artifact-view").hidden = false;
  $("av-diff-out").replaceChildren();
  $("av-diff-out").hidden = true;
  if (!w) {
    $("av-name").textContent = name;
    $("av-meta").textContent = "No longer in any cached project.";
    $("av-variants").replaceChildren();
    return;
  }
  $("av-name").textContent = w.name;
  const nCopies = w.variants.reduce((a, v) => a + v.copies.length, 0);
  $("av-meta").textContent =
    `${w.kind.replace("_", " ")}${w.plugin ? ` from ${w.plugin}` : ""} · ${nCopies} cop${nCopies === 1 ? "y" : "ies"} in ` +
    `${w.projects} project${w.projects === 1 ? "" : "s"} · ${w.variants.length} variant${w.variants.length === 1 ? "" : "s"}`;
  const frag = document.createDocumentFragment();
  w.variants.forEach((v, i) => {
    const box = el("div", "variant");
    const head = el("div", "variant-head");
    const pick = el("input");
    pick.type = "checkbox";
    pick.title = "Compare this variant";
    pick.dataset.aid = `${v.copies[0]?.aid ?? ""}`;
    pick.addEventListener("change", () => {
      const aid = Number(pick.dataset.aid);
      lib.picked = lib.picked.filter((a) => a !== aid);
      if (pick.checked) lib.picked.push(aid);
      ($("av-diff") as HTMLButtonElement).disabled = lib.picked.length !== 2;
    });
    if (w.variants.length > 1) head.append(pick);
    head.append(el("strong", undefined, `Variant ${i + 1}`), el("code", "hash", v.content_hash.slice(0, 12)));
    if (v.newest) head.append(el("span", "badge fresh", "newest"));
    if (v.in_collection) head.append(el("span", "badge modified", "in collection"));
    head.append(el("span", "meta", `${v.copies.length} cop${v.copies.length === 1 ? "y" : "ies"} · changed ${ago(v.updated_at)}`));
    const list = el("ul", "copies");
    for (const c of v.copies) {
      const li = el("li");
      li.dataset.project = c.project_id;
      li.tabIndex = 0;
      li.title = `${c.project_path}/${c.path}`;
      li.append(el("strong", undefined, c.project_name), el("span", "path", `${c.scope} · ${c.path}`));
      if (c.managed) li.append(el("span", "badge scope", c.local_modified ? "managed · modified" : "managed"));
      if (!c.loaded) li.append(el("span", "badge notloaded", "not loaded"));
      list.append(li);
    }
    box.append(head, list);
    frag.append(box);
  });
  $("av-variants").replaceChildren(frag);
  $("av-diff").hidden = w.variants.length < 2;
  ($("av-diff") as HTMLButtonElement).disabled = true;
}

/** The unified diff of the two picked variants, coloured by line. */
async function showDiff(): Promise<void> {
  if (lib.picked.length !== 2) return;
  const [a, b] = lib.picked;
  const text = await call<string>("variant_diff", { a, b });
  const out = $("av-diff-out");
  const frag = document.createDocumentFragment();
  for (const line of text.split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "dh" : line.startsWith("@@") ? "dh" : line.startsWith("+") ? "da" : line.startsWith("-") ? "dd" : "dc";
    frag.append(el("span", cls, `${line}\n`));
  }
  if (!text.trim()) frag.append(el("span", "dc", "The two copies have the same text."));
  out.replaceChildren(frag);
  out.hidden = false;
}

/** Hides the artifact view. */
export function closeArtifact(): void {
  lib.open = null;
  $("artifact-view").hidden = true;
}

/** Reloads what the view shows after the cache changed. */
export async function reloadLibrary(visible: boolean): Promise<void> {
  if (visible) await loadLibrary();
  const o = lib.open;
  if (o && !$("artifact-view").hidden && $("av-diff-out").hidden) await openArtifact(o.name, o.kind, o.plugin);
}
