//! What more than one of the host's integration tests needs (each file in
//! `tests/` is a crate of its own, which takes this in with `mod support;`).

use std::path::PathBuf;

/// Prometheus's linter: `$PROMTOOL`, else `promtool` from `PATH` (see
/// `tests/metrics_promtool.rs` for how to have it without a server).
pub fn promtool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROMTOOL") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    })
}
