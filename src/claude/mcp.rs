//! One MCP server definition reduced to what may be stored: transport, command, arguments,
//! the address without credentials, and the NAMES of its environment variables and headers.
//! Values of `env` and `headers` are secrets and never leave this function.
//! Source: code.claude.com/docs/en/mcp (server definitions: `type`, `command`, `args`, `env`,
//! `url`, `headers`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A secret-free MCP server definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpEntry {
    /// The server's name (its key in `mcpServers`).
    pub name: String,
    /// `stdio`, `http`, `sse`...
    pub transport: String,
    /// The command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// The address of a remote server, without user info, query or fragment.
    pub url: Option<String>,
    /// Names of its environment variables (never their values).
    pub env_keys: Vec<String>,
    /// Names of its HTTP headers (never their values).
    pub header_names: Vec<String>,
}

impl McpEntry {
    /// Reduces one `mcpServers` entry.
    pub fn from_spec(name: &str, spec: &Value) -> McpEntry {
        let command = spec
            .get("command")
            .and_then(|c| c.as_str())
            .map(String::from);
        let url = spec.get("url").and_then(|c| c.as_str()).map(strip_url);
        let keys = |k: &str| -> Vec<String> {
            spec.get(k)
                .and_then(|e| e.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        McpEntry {
            name: name.to_string(),
            transport: spec
                .get("type")
                .and_then(|t| t.as_str())
                .map(String::from)
                .unwrap_or_else(|| if url.is_some() { "http" } else { "stdio" }.to_string()),
            args: spec
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            command,
            url,
            env_keys: keys("env"),
            header_names: keys("headers"),
        }
    }

    /// Every entry of an `mcpServers` object, in key order (other shapes give none).
    pub fn all_from(servers: Option<&Value>) -> Vec<McpEntry> {
        servers
            .and_then(|s| s.as_object())
            .map(|o| o.iter().map(|(k, v)| McpEntry::from_spec(k, v)).collect())
            .unwrap_or_default()
    }

    /// The one-line description: the command line, or the address.
    pub fn description(&self) -> String {
        match (&self.command, &self.url) {
            (Some(c), _) => std::iter::once(c.clone())
                .chain(self.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" "),
            (None, Some(u)) => u.clone(),
            _ => String::new(),
        }
    }

    /// The stored details.
    pub fn extra(&self) -> Value {
        json!({
            "type": self.transport,
            "command": self.command,
            "args": self.args,
            "url": self.url,
            "env_keys": self.env_keys,
            "header_names": self.header_names,
        })
    }
}

/// `scheme://user:secret@host/path?token=x#f` → `scheme://host/path`.
pub fn strip_url(u: &str) -> String {
    let cut = u.find(['?', '#']).map(|i| &u[..i]).unwrap_or(u);
    match cut.find("://") {
        Some(i) => {
            let (scheme, rest) = cut.split_at(i + 3);
            let host_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(host_end);
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}{host}{path}")
        }
        None => cut.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_queries_are_cut_from_addresses() {
        assert_eq!(
            strip_url("https://bob:hunter2@api.example.com/mcp?key=abc#x"),
            "https://api.example.com/mcp"
        );
        assert_eq!(strip_url("http://h:8080"), "http://h:8080");
    }

    #[test]
    fn only_names_of_env_and_headers_are_kept() {
        let spec = serde_json::json!({"type": "http", "url": "https://x/mcp",
            "headers": {"Authorization": "Bearer s3cr3t"}, "env": {"TOKEN": "v4lue"}});
        let e = McpEntry::from_spec("x", &spec);
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("v4lue"),
            "{text}"
        );
        assert_eq!(e.header_names, ["Authorization"]);
        assert_eq!(e.env_keys, ["TOKEN"]);
    }
}
