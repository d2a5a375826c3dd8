// Typed access to the shell's commands and events (window.__TAURI__, enabled by
// `withGlobalTauri`; the capability lets this window call only these commands).

export type Kind =
  | "skill"
  | "agent"
  | "command"
  | "hook"
  | "mcp_server"
  | "memory"
  | "rule"
  | "output_style"
  | "plugin";
export type Scope = "managed" | "local" | "project" | "user" | "plugin";
export type NotLoaded =
  | "nested_skill"
  | "plugin_disabled"
  | "plugin_not_installed"
  | "hooks_disabled"
  | "mcp_not_approved"
  | "mcp_disabled"
  | "shadowed"
  | "invalid_frontmatter"
  | "on_demand"
  | "other_tool";
export type Status = "fresh" | "stale" | "error" | "missing";

export type KindCounts = Record<Kind, number>;

export interface Project {
  id: string;
  path: string;
  name: string;
  description: string | null;
  origin: string;
  status: Status;
  error: string | null;
  invalidated_reason: string | null;
  refreshed_at: number | null;
  created_at: number;
  counts: KindCounts;
  outdated_count: number;
  modified_count: number;
  claude_md: string;
  profiles: string[];
  notes: string[];
  problems: number;
  /** Estimated tokens a session started here loads before the first prompt. */
  context_tokens: number;
}

export interface Artifact {
  project: string;
  kind: Kind;
  name: string;
  description: string;
  path: string;
  content_hash: string;
  frontmatter: "ok" | "none" | "malformed";
  version: string | null;
  tags: string[];
  local_modified: boolean | null;
  outdated: boolean | null;
  upstream_version: string | null;
  version_cmp: string | null;
  updated_at: number;
  scope: Scope;
  plugin: string | null;
  loaded: boolean;
  not_loaded: NotLoaded | null;
  extra: Record<string, unknown> | null;
}

export interface ProjectDetail extends Project {
  artifacts: Artifact[];
}

export interface SearchHit extends Artifact {
  project_name: string;
  tier: number;
}

/** One item of one project that has a problem. */
export interface Problem extends Artifact {
  project_name: string;
  problem: string;
  detail: string;
}

export interface Page<T> {
  total: number;
  skip: number;
  items: T[];
  /** Unused view only: the earliest use the usage index holds (Unix ms). */
  indexed_since?: number | null;
  /** Unused view only: estimated tokens over every unused item. */
  total_tokens?: number;
}

export type LibrarySort = "copies" | "variants" | "cost" | "name";

/** One artifact identity across every cached project. */
export interface LibraryEntry {
  kind: Kind;
  plugin: string | null;
  name: string;
  copies: number;
  variants: number;
  drifted: boolean;
  managed: number;
  tokens: number;
  collection_hash: string | null;
  collection_copies: number | null;
}

export interface LibraryCopy {
  aid: number;
  project_id: string;
  project_name: string;
  project_path: string;
  scope: Scope;
  path: string;
  managed: boolean;
  local_modified: boolean | null;
  outdated: boolean | null;
  loaded: boolean;
  updated_at: number;
  tokens: number;
}

export interface LibraryVariant {
  content_hash: string;
  newest: boolean;
  in_collection: boolean;
  updated_at: number;
  copies: LibraryCopy[];
}

/** Every copy of one identity, grouped by variant. */
export interface WhereEntry {
  kind: Kind;
  plugin: string | null;
  name: string;
  projects: number;
  variants: LibraryVariant[];
}

export interface CostItem {
  aid: number;
  kind: Kind;
  name: string;
  scope: Scope;
  tokens: number;
  what: string;
}

/** What a session started in a project loads before the first prompt. */
export interface ProjectCost {
  project_id: string;
  project_name: string;
  total_tokens: number;
  items: CostItem[];
  listing_chars: number;
  listing_budget: number;
}

/** A cross-project finding: drift, a copy differing from the user's, a heavy project. */
export interface Finding {
  code: "drift" | "differs_from_user" | "heavy_context";
  kind: Kind | null;
  name: string | null;
  plugin: string | null;
  project_id: string | null;
  project_name: string | null;
  detail: string;
}

/** Usage of one item of a project, from Claude Code's session logs. */
export interface ArtifactUsage {
  aid: number;
  kind: string;
  name: string;
  /** With `kind` and `path`, the key that joins this row to an `Artifact`. */
  project_path: string;
  path: string;
  uses_7d: number;
  uses_30d: number;
  uses_90d: number;
  uses_total: number;
  last_used: number | null;
  projects: number;
  daily: number[];
}

export type UnusedSort = "tokens" | "name" | "kind" | "last";

/** A loaded item no session used in the window. */
export interface UnusedRow {
  aid: number;
  kind: Kind;
  name: string;
  scope: Scope;
  project_id: string;
  project_name: string;
  project_path: string;
  path: string;
  last_used: number | null;
  context_tokens: number | null;
}

export interface CacheStatus {
  db_path: string;
  db_bytes: number;
  projects: number;
  artifacts: number;
  fresh: number;
  stale: number;
  errored: number;
  missing: number;
  outdated: number;
  modified: number;
  problems: number;
  claude_json_gone: number;
  last_refresh: number | null;
  newest_refresh: number | null;
  hits: number;
  misses: number;
  notes: string[];
}

export interface WatchStatus {
  state: string;
  projects_watched: number;
  polled: string[];
}

export interface StatusView {
  cache: CacheStatus;
  job: { running: boolean; pending: number };
  watch: WatchStatus;
}

export interface RecentChange {
  seq: number;
  at: number;
  project_id: string;
  project_name: string;
  project_path: string;
  summary: string;
}

export interface Settings {
  cache_ttl: number;
  roots: string[];
  schedule: string;
  notifications: boolean;
  watch_paused: boolean;
  usage_index: boolean;
  db_path: string;
  config_file: string;
}

export interface CommandError {
  code: string;
  message: string;
}

export type CacheEvent =
  | { type: "refresh_started"; total: number }
  | { type: "refresh_progress"; done: number; total: number; project: string }
  | { type: "refresh_completed"; refreshed: number; changed: number; failed: number }
  | { type: "refresh_failed"; id: string; path: string; error: string; final_attempt: boolean }
  | { type: "project_changed"; id: string; name: string; summary: string }
  | { type: "project_invalidated"; id: string | null }
  | { type: "project_added"; id: string }
  | { type: "project_removed"; id: string }
  | { type: "project_missing"; id: string }
  | { type: "cleared"; projects: number }
  | { type: "watch_status"; state: string; message: string }
  | { type: "usage_indexed"; uses: number; files: number };

interface TauriGlobal {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: {
    listen<T>(event: string, handler: (e: { payload: T }) => void): Promise<() => void>;
  };
}

function tauri(): TauriGlobal {
  const t = (window as unknown as { __TAURI__?: TauriGlobal }).__TAURI__;
  if (!t) throw new Error("not running inside the SkillMeat app");
  return t;
}

/** Calls a command; rejects with a CommandError whose message is readable. */
export function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  return tauri()
    .core.invoke<T>(cmd, args)
    .catch((e: unknown) => {
      if (e && typeof e === "object" && "message" in e) throw e as CommandError;
      throw { code: "internal", message: String(e) } as CommandError;
    });
}

/** Listens to the engine's events. */
export function onCacheEvent(handler: (e: CacheEvent) => void): Promise<() => void> {
  return tauri().event.listen<CacheEvent>("cache-event", (e) => handler(e.payload));
}

/** Listens to "show this project" (a notification was clicked while the dashboard was open). */
export function onOpenProject(handler: (id: string) => void): Promise<() => void> {
  return tauri().event.listen<string>("open-project", (e) => handler(e.payload));
}

/** Listens to "events were lost" (the dashboard then reloads what it shows). */
export function onResync(handler: () => void): Promise<() => void> {
  return tauri().event.listen<number>("cache-resync", () => handler());
}
