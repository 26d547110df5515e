//! The host's hide rules: names hidden at any depth, paths hidden from the top, case
//! ignored, and no rule may re-include what another hides.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::{DEFAULT_HIDDEN, WorkspaceError};

/// The host's hide rules: [`DEFAULT_HIDDEN`] plus `--hide`.
#[derive(Debug)]
pub(super) struct HideRules {
    /// Rules without `/`: matched against each name along a path.
    by_name: GlobSet,
    /// Rules with `/`: matched against the whole relative path of a file or folder.
    by_path: GlobSet,
}

impl HideRules {
    pub(super) fn new(extra: &[String]) -> Result<HideRules, WorkspaceError> {
        let mut by_name = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        let rules = DEFAULT_HIDDEN
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str));
        for rule in rules {
            let trimmed = rule.trim();
            if trimmed.starts_with('!') {
                return Err(WorkspaceError::HideNegation {
                    glob: rule.to_owned(),
                });
            }
            // A trailing '/' means "this folder" in gitignore; folders are hidden with all
            // they hold, so the slash adds nothing here.
            let pattern = trimmed.trim_end_matches('/');
            let anchored = pattern.strip_prefix('/');
            let pattern = anchored.unwrap_or(pattern);
            if pattern.is_empty() {
                return Err(WorkspaceError::HideEmpty);
            }
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|error| WorkspaceError::HideGlob {
                    glob: rule.to_owned(),
                    reason: error.kind().to_string(),
                })?;
            if anchored.is_some() || pattern.contains('/') {
                by_path.add(glob);
            } else {
                by_name.add(glob);
            }
        }
        let build = |set: GlobSetBuilder| {
            set.build().map_err(|error| WorkspaceError::HideGlob {
                glob: error.glob().unwrap_or_default().to_owned(),
                reason: error.kind().to_string(),
            })
        };
        Ok(HideRules {
            by_name: build(by_name)?,
            by_path: build(by_path)?,
        })
    }

    /// Whether the file or folder at `relative` is hidden by its own name or path. Folders
    /// above it are judged when the walk reaches them (a hidden folder is not entered).
    pub(super) fn hides(&self, relative: &Path) -> bool {
        let name_hidden = relative
            .file_name()
            .is_some_and(|name| self.by_name.is_match(name));
        name_hidden || self.by_path.is_match(relative)
    }
}
