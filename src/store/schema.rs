//! The one schema source: every table, index, trigger and migration of the cache database.

use rusqlite::Connection;

/// The schema version this build writes (stored in `PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 6;

/// Marker stored in `meta` so a foreign SQLite file is never mistaken for a cache.
pub const APP_MARKER: &str = "skillmeat-tray-cache";

/// Version 1: projects, artifacts, full-text indexes, metadata, user choices, change feed.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE projects (
    rid                INTEGER PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    path               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    description        TEXT,
    origin             TEXT NOT NULL DEFAULT 'discovered',
    missing            TEXT,
    error              TEXT,
    refreshed_at       INTEGER,
    invalidated_at     INTEGER,
    invalidated_reason TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    claude_md          TEXT NOT NULL DEFAULT 'absent',
    profiles           TEXT NOT NULL DEFAULT '[]',
    notes              TEXT NOT NULL DEFAULT '[]',
    n_skill            INTEGER NOT NULL DEFAULT 0,
    n_agent            INTEGER NOT NULL DEFAULT 0,
    n_command          INTEGER NOT NULL DEFAULT 0,
    n_hook             INTEGER NOT NULL DEFAULT 0,
    n_mcp_server       INTEGER NOT NULL DEFAULT 0,
    n_outdated         INTEGER NOT NULL DEFAULT 0,
    n_modified         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX projects_name ON projects(name COLLATE NOCASE, path);

CREATE TABLE artifacts (
    aid              INTEGER PRIMARY KEY,
    project_rid      INTEGER NOT NULL REFERENCES projects(rid) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    path             TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    frontmatter      TEXT NOT NULL,
    version          TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',
    aliases          TEXT NOT NULL DEFAULT '[]',
    local_modified   INTEGER,
    outdated         INTEGER,
    upstream_version TEXT,
    version_cmp      TEXT,
    extra            TEXT NOT NULL DEFAULT 'null',
    source           TEXT NOT NULL,
    stamp            TEXT NOT NULL,
    fp               TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (project_rid, kind, path)
);
CREATE INDEX artifacts_kind ON artifacts(kind, name);
CREATE INDEX artifacts_outdated ON artifacts(outdated) WHERE outdated = 1;
CREATE INDEX artifacts_modified ON artifacts(local_modified) WHERE local_modified = 1;

CREATE VIRTUAL TABLE artifacts_fts USING fts5(
    name, description, tags,
    content = 'artifacts', content_rowid = 'aid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE artifact_names USING fts5(
    name, content = 'artifacts', content_rowid = 'aid', tokenize = 'trigram'
);
CREATE TRIGGER artifacts_ai AFTER INSERT ON artifacts BEGIN
    INSERT INTO artifacts_fts(rowid, name, description, tags)
        VALUES (new.aid, new.name, new.description, new.tags);
    INSERT INTO artifact_names(rowid, name) VALUES (new.aid, new.name);
END;
CREATE TRIGGER artifacts_ad AFTER DELETE ON artifacts BEGIN
    INSERT INTO artifacts_fts(artifacts_fts, rowid, name, description, tags)
        VALUES ('delete', old.aid, old.name, old.description, old.tags);
    INSERT INTO artifact_names(artifact_names, rowid, name) VALUES ('delete', old.aid, old.name);
END;
CREATE TRIGGER artifacts_au AFTER UPDATE OF name, description, tags ON artifacts BEGIN
    INSERT INTO artifacts_fts(artifacts_fts, rowid, name, description, tags)
        VALUES ('delete', old.aid, old.name, old.description, old.tags);
    INSERT INTO artifacts_fts(rowid, name, description, tags)
        VALUES (new.aid, new.name, new.description, new.tags);
    INSERT INTO artifact_names(artifact_names, rowid, name) VALUES ('delete', old.aid, old.name);
    INSERT INTO artifact_names(rowid, name) VALUES (new.aid, new.name);
END;

-- Explicit user choices survive `clear`: projects added by hand, projects removed by hand.
CREATE TABLE project_choices (
    path   TEXT PRIMARY KEY,
    choice TEXT NOT NULL CHECK (choice IN ('added', 'excluded'))
) WITHOUT ROWID;

-- Recent changes, newest last; trimmed to the last 1000 entries.
CREATE TABLE changes (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    project_id   TEXT NOT NULL,
    project_name TEXT NOT NULL,
    project_path TEXT NOT NULL,
    summary      TEXT NOT NULL,
    changes      TEXT NOT NULL
);
"#;

/// Version 2: a per-project fingerprint of everything the last scan read (`tree_stamp`),
/// so an unchanged project is confirmed with stats alone.
const V2: &str = "ALTER TABLE projects ADD COLUMN tree_stamp TEXT;";

/// Version 3: search reads names from `artifact_keys`, a narrow copy of each artifact's name,
/// project and kind (a few dozen bytes a row instead of a full artifact row), with an index on
/// the name for exact and prefix matches; the trigram index takes its content from it.
const V3: &str = r#"
CREATE TABLE artifact_keys (
    aid         INTEGER PRIMARY KEY,
    project_rid INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL
);
INSERT INTO artifact_keys(aid, project_rid, kind, name)
    SELECT aid, project_rid, kind, name FROM artifacts;
CREATE INDEX artifact_keys_name ON artifact_keys(name COLLATE NOCASE);
-- Served no query (kind filters go through the project's unique index or scan) and cost a
-- random insert per artifact.
DROP INDEX artifacts_kind;

DROP TRIGGER artifacts_ai;
DROP TRIGGER artifacts_ad;
DROP TRIGGER artifacts_au;
DROP TABLE artifact_names;
CREATE VIRTUAL TABLE artifact_names USING fts5(
    name, content = 'artifact_keys', content_rowid = 'aid', tokenize = 'trigram'
);
INSERT INTO artifact_names(artifact_names) VALUES ('rebuild');

CREATE TRIGGER artifacts_ai AFTER INSERT ON artifacts BEGIN
    INSERT INTO artifacts_fts(rowid, name, description, tags)
        VALUES (new.aid, new.name, new.description, new.tags);
    INSERT INTO artifact_keys(aid, project_rid, kind, name)
        VALUES (new.aid, new.project_rid, new.kind, new.name);
    INSERT INTO artifact_names(rowid, name) VALUES (new.aid, new.name);
END;
CREATE TRIGGER artifacts_ad AFTER DELETE ON artifacts BEGIN
    INSERT INTO artifacts_fts(artifacts_fts, rowid, name, description, tags)
        VALUES ('delete', old.aid, old.name, old.description, old.tags);
    INSERT INTO artifact_names(artifact_names, rowid, name) VALUES ('delete', old.aid, old.name);
    DELETE FROM artifact_keys WHERE aid = old.aid;
END;
CREATE TRIGGER artifacts_au AFTER UPDATE OF name, description, tags ON artifacts BEGIN
    INSERT INTO artifacts_fts(artifacts_fts, rowid, name, description, tags)
        VALUES ('delete', old.aid, old.name, old.description, old.tags);
    INSERT INTO artifacts_fts(rowid, name, description, tags)
        VALUES (new.aid, new.name, new.description, new.tags);
    INSERT INTO artifact_names(artifact_names, rowid, name) VALUES ('delete', old.aid, old.name);
    UPDATE artifact_keys SET name = new.name WHERE aid = new.aid;
    INSERT INTO artifact_names(rowid, name) VALUES (new.aid, new.name);
END;
CREATE TRIGGER artifacts_au_keys AFTER UPDATE OF project_rid, kind ON artifacts BEGIN
    UPDATE artifact_keys SET project_rid = new.project_rid, kind = new.kind WHERE aid = new.aid;
END;
"#;

/// Version 4: what Claude Code loads. Every artifact has a scope, the plugin providing it,
/// whether it is loaded and why not, and its problem code; projects count the new kinds
/// (memory, rule, output style, plugin) and their problems. Old rows read as project-scope
/// items (user-scope rows as user-scope), loaded; the scanner version changed, so the next
/// refresh rescans every project and fills the new columns.
const V4: &str = r#"
ALTER TABLE artifacts ADD COLUMN scope TEXT NOT NULL DEFAULT 'project';
ALTER TABLE artifacts ADD COLUMN plugin TEXT;
ALTER TABLE artifacts ADD COLUMN loaded INTEGER NOT NULL DEFAULT 1;
ALTER TABLE artifacts ADD COLUMN not_loaded TEXT;
ALTER TABLE artifacts ADD COLUMN problem TEXT;
UPDATE artifacts SET scope = 'user'
    WHERE project_rid IN (SELECT rid FROM projects WHERE origin = 'user');
CREATE INDEX artifacts_problem ON artifacts(project_rid) WHERE problem IS NOT NULL;
ALTER TABLE projects ADD COLUMN n_memory INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN n_rule INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN n_output_style INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN n_plugin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN n_problems INTEGER NOT NULL DEFAULT 0;
UPDATE projects SET tree_stamp = NULL;
-- Re-read every source once: items reused from an older scan would lack the new details.
UPDATE artifacts SET stamp = '';
"#;

/// Version 5: the usage index (issue 12). Per transcript file its identity and how far it was
/// read; per use of an artifact only its time, working folder, session and (kind, name), each
/// text stored once and referred to by integer id. No prompt, argument or output is stored.
const V5: &str = r#"
CREATE TABLE usage_files (
    fid     INTEGER PRIMARY KEY,
    path    TEXT NOT NULL UNIQUE,
    dev     INTEGER NOT NULL,
    ino     INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    mtime   INTEGER NOT NULL,
    offset  INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    -- Fingerprint of the file's first `head_len` bytes (at most 4 KiB): a file rewritten in
    -- place (same inode, as long as before or longer) is recognised and read again.
    head_len INTEGER NOT NULL DEFAULT 0,
    head     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE usage_names (
    nid  INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE usage_sessions (
    sid     INTEGER PRIMARY KEY,
    session TEXT NOT NULL UNIQUE
);
-- Working folders; mapped to projects when answering (projects come and go).
CREATE TABLE usage_cwds (
    cid  INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);
-- `key` identifies the use (hash of the tool call's id): a continued session copies earlier
-- lines into its new file, and answers count each key once.
CREATE TABLE usage_events (
    fid INTEGER NOT NULL,
    at  INTEGER NOT NULL,
    cid INTEGER,
    sid INTEGER,
    nid INTEGER NOT NULL,
    key INTEGER NOT NULL
);
CREATE INDEX usage_events_nid ON usage_events(nid, at);
CREATE INDEX usage_events_fid ON usage_events(fid);
"#;

/// The V6 triggers' step for a row arriving in the library (`new`): its identity and its
/// variant gain a copy. One text for the insert and update triggers (SQLite triggers cannot
/// call each other).
macro_rules! lib_add_new {
    () => {
        r#"    INSERT INTO lib_identities(kind, plugin, name, copies, variants, managed, tokens,
            n_user, n_project, n_local, n_plugin, n_managed)
        VALUES (new.kind, ifnull(new.plugin, ''), new.name, 1, 0,
            new.local_modified IS NOT NULL, new.tokens, new.scope = 'user',
            new.scope = 'project', new.scope = 'local', new.scope = 'plugin',
            new.scope = 'managed')
        ON CONFLICT(kind, plugin, name) DO UPDATE SET copies = copies + 1,
            managed = managed + excluded.managed, tokens = tokens + excluded.tokens,
            n_user = n_user + excluded.n_user, n_project = n_project + excluded.n_project,
            n_local = n_local + excluded.n_local, n_plugin = n_plugin + excluded.n_plugin,
            n_managed = n_managed + excluded.n_managed;
    INSERT INTO lib_variants(kind, plugin, name, hash16, copies)
        VALUES (new.kind, ifnull(new.plugin, ''), new.name, substr(new.content_hash, 1, 16), 1)
        ON CONFLICT(kind, plugin, name, hash16) DO UPDATE SET copies = copies + 1;
"#
    };
}

/// The V6 triggers' step for a row leaving the library (`old`): its identity and its variant
/// lose a copy, and go when none is left. One text for the delete and update triggers.
macro_rules! lib_remove_old {
    () => {
        r#"    UPDATE lib_identities SET copies = copies - 1,
            managed = managed - (old.local_modified IS NOT NULL), tokens = tokens - old.tokens,
            n_user = n_user - (old.scope = 'user'), n_project = n_project - (old.scope = 'project'),
            n_local = n_local - (old.scope = 'local'), n_plugin = n_plugin - (old.scope = 'plugin'),
            n_managed = n_managed - (old.scope = 'managed')
        WHERE kind = old.kind AND plugin = ifnull(old.plugin, '') AND name = old.name;
    UPDATE lib_variants SET copies = copies - 1
        WHERE kind = old.kind AND plugin = ifnull(old.plugin, '') AND name = old.name
          AND hash16 = substr(old.content_hash, 1, 16);
    DELETE FROM lib_variants
        WHERE kind = old.kind AND plugin = ifnull(old.plugin, '') AND name = old.name
          AND hash16 = substr(old.content_hash, 1, 16) AND copies <= 0;
    DELETE FROM lib_identities
        WHERE kind = old.kind AND plugin = ifnull(old.plugin, '') AND name = old.name
          AND copies <= 0;
"#
    };
}

/// Version 6: across projects. Every artifact carries its estimated context cost in tokens
/// (`tokens`, see [`crate::cost`]) and every project the sum over its loaded items
/// (`cost_tokens`). The library keeps one row per artifact identity (kind, plugin, name) with
/// its copies, variants, managed copies, tokens and copies by scope, and one narrow row per
/// variant (identity and the first 16 hex digits of the SkillMeat content hash) with its copy
/// count, both kept by triggers on `artifacts` (or, during a large refresh, rebuilt in one pass
/// at its end: `lib_state`), so a library page and `where` read a few rows instead of grouping
/// every artifact. Memory files are left out (each project's own by
/// nature). The next refresh rescans every project once (skills re-read) to fill the new data.
const V6: &str = concat!(
    r#"
ALTER TABLE artifacts ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN cost_tokens INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lib_identities (
    kind      TEXT NOT NULL,
    plugin    TEXT NOT NULL,
    name      TEXT NOT NULL,
    copies    INTEGER NOT NULL,
    variants  INTEGER NOT NULL,
    managed   INTEGER NOT NULL,
    tokens    INTEGER NOT NULL,
    n_user    INTEGER NOT NULL,
    n_project INTEGER NOT NULL,
    n_local   INTEGER NOT NULL,
    n_plugin  INTEGER NOT NULL,
    n_managed INTEGER NOT NULL,
    PRIMARY KEY (kind, plugin, name)
) WITHOUT ROWID;
CREATE TABLE lib_variants (
    kind   TEXT NOT NULL,
    plugin TEXT NOT NULL,
    name   TEXT NOT NULL,
    hash16 TEXT NOT NULL,
    copies INTEGER NOT NULL,
    PRIMARY KEY (kind, plugin, name, hash16)
) WITHOUT ROWID;
-- `live` = 0 while a large refresh runs: the triggers stand aside and the tables are rebuilt
-- in one pass at its end (`since`: when that began, so an interrupted run is noticed; `dirty`:
-- an artifact was written meanwhile, so the end recounts).
CREATE TABLE lib_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    live  INTEGER NOT NULL,
    since INTEGER,
    dirty INTEGER NOT NULL DEFAULT 0
);
INSERT INTO lib_state(id, live, since) VALUES (1, 1, NULL);
INSERT INTO lib_identities(kind, plugin, name, copies, variants, managed, tokens,
        n_user, n_project, n_local, n_plugin, n_managed)
    SELECT kind, ifnull(plugin, ''), name, count(*), count(DISTINCT substr(content_hash, 1, 16)),
           sum(local_modified IS NOT NULL), sum(tokens), sum(scope = 'user'),
           sum(scope = 'project'), sum(scope = 'local'), sum(scope = 'plugin'),
           sum(scope = 'managed')
    FROM artifacts WHERE kind <> 'memory'
    GROUP BY kind, ifnull(plugin, ''), name;
INSERT INTO lib_variants(kind, plugin, name, hash16, copies)
    SELECT kind, ifnull(plugin, ''), name, substr(content_hash, 1, 16), count(*)
    FROM artifacts WHERE kind <> 'memory'
    GROUP BY kind, ifnull(plugin, ''), name, substr(content_hash, 1, 16);

-- A variant appearing or vanishing changes its identity's variant count.
CREATE TRIGGER lib_variants_ai AFTER INSERT ON lib_variants WHEN (SELECT live FROM lib_state WHERE id = 1) BEGIN
    UPDATE lib_identities SET variants = variants + 1
        WHERE kind = new.kind AND plugin = new.plugin AND name = new.name;
END;
CREATE TRIGGER lib_variants_ad AFTER DELETE ON lib_variants WHEN (SELECT live FROM lib_state WHERE id = 1) BEGIN
    UPDATE lib_identities SET variants = variants - 1
        WHERE kind = old.kind AND plugin = old.plugin AND name = old.name;
END;

CREATE TRIGGER artifacts_lib_ai AFTER INSERT ON artifacts
    WHEN new.kind <> 'memory' AND (SELECT live FROM lib_state WHERE id = 1) BEGIN
"#,
    lib_add_new!(),
    r#"END;
CREATE TRIGGER artifacts_lib_ad AFTER DELETE ON artifacts
    WHEN old.kind <> 'memory' AND (SELECT live FROM lib_state WHERE id = 1) BEGIN
"#,
    lib_remove_old!(),
    r#"END;
CREATE TRIGGER artifacts_lib_au_old
    AFTER UPDATE OF kind, plugin, name, content_hash, local_modified, tokens, scope ON artifacts
    WHEN old.kind <> 'memory' AND (SELECT live FROM lib_state WHERE id = 1) BEGIN
"#,
    lib_remove_old!(),
    r#"END;
CREATE TRIGGER artifacts_lib_au_new
    AFTER UPDATE OF kind, plugin, name, content_hash, local_modified, tokens, scope ON artifacts
    WHEN new.kind <> 'memory' AND (SELECT live FROM lib_state WHERE id = 1) BEGIN
"#,
    lib_add_new!(),
    r#"END;
CREATE TRIGGER artifacts_lib_paused_ai AFTER INSERT ON artifacts
    WHEN (SELECT live = 0 AND dirty = 0 FROM lib_state WHERE id = 1) BEGIN
    UPDATE lib_state SET dirty = 1 WHERE id = 1;
END;
CREATE TRIGGER artifacts_lib_paused_ad AFTER DELETE ON artifacts
    WHEN (SELECT live = 0 AND dirty = 0 FROM lib_state WHERE id = 1) BEGIN
    UPDATE lib_state SET dirty = 1 WHERE id = 1;
END;
CREATE TRIGGER artifacts_lib_paused_au
    AFTER UPDATE OF kind, plugin, name, content_hash, local_modified, tokens, scope ON artifacts
    WHEN (SELECT live = 0 AND dirty = 0 FROM lib_state WHERE id = 1) BEGIN
    UPDATE lib_state SET dirty = 1 WHERE id = 1;
END;
UPDATE projects SET tree_stamp = NULL;
-- Skills are read again once: the listing needs `disable-model-invocation` and `when_to_use`.
UPDATE artifacts SET stamp = '' WHERE kind = 'skill';
"#
);

/// Migrations in order: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// Brings a database up to [`SCHEMA_VERSION`] inside one transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings a database up to `version` (at most [`SCHEMA_VERSION`]) inside one transaction;
/// tests use it to build a database as an older release left it.
pub fn migrate_to(conn: &mut Connection, version: i64) -> rusqlite::Result<()> {
    let version = version.clamp(0, SCHEMA_VERSION);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the write lock.
    let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if now >= version {
        return tx.commit();
    }
    let from = now.max(0);
    for sql in &MIGRATIONS[from as usize..version as usize] {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('app', ?1)",
        [APP_MARKER],
    )?;
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()
}
