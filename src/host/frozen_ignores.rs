//! The ignore files as the host's user last accepted them, so hiding only grows.
//!
//! `.gitignore` and `.ignore` files inside the shared folder are shared, and editors may
//! change them. The walk reads them afresh every time, so a member who deleted the line
//! `secrets.txt` and saved would make the host serve `secrets.txt`. This snapshot keeps the
//! rules each ignore file had when the session started (or when the host's user adopted
//! the files as they now are): a path is shared only if both the files on disk and the
//! snapshot leave it visible. Rules members add hide more at once; rules they remove take
//! effect only when the host's user says so.

use std::collections::BTreeMap;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The file names whose rules are frozen (what the walk reads inside the folder).
pub const IGNORE_FILE_NAMES: [&str; 2] = [".gitignore", ".ignore"];

/// One ignore file's rules and the bytes they were read from.
#[derive(Debug)]
struct Frozen {
    contents: Vec<u8>,
    matcher: Gitignore,
}

/// Every ignore file of the shared folder, by its path relative to the folder.
#[derive(Debug, Default)]
pub struct FrozenIgnores {
    files: BTreeMap<String, Frozen>,
}

impl FrozenIgnores {
    /// Reads `paths` (ignore files relative to `root`) as they are now.
    pub fn read(root: &Path, paths: impl IntoIterator<Item = String>) -> FrozenIgnores {
        let files = paths
            .into_iter()
            .filter_map(|path| {
                let contents = std::fs::read(root.join(&path)).ok()?;
                let matcher = matcher(root, &path, &contents);
                Some((path, Frozen { contents, matcher }))
            })
            .collect();
        FrozenIgnores { files }
    }

    /// Whether the frozen rules hide `relative` (a path under `root`), judged as git does:
    /// the ignore file nearest to the path that has an opinion decides.
    pub fn hides(&self, root: &Path, relative: &Path, is_dir: bool) -> bool {
        let absolute = root.join(relative);
        let relative_text = relative.to_string_lossy();
        // Deepest folders first: a nested file's rules override its parents'.
        for (path, frozen) in self.files.iter().rev() {
            let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
            let inside = folder.is_empty()
                || relative_text
                    .strip_prefix(folder)
                    .is_some_and(|rest| rest.starts_with('/'));
            if !inside {
                continue;
            }
            let decision = frozen.matcher.matched(&absolute, is_dir);
            if decision.is_ignore() {
                return true;
            }
            if decision.is_whitelist() {
                return false;
            }
        }
        false
    }

    /// Ignore files whose bytes differ from the snapshot now (changed or deleted; new ones
    /// need no word, since the walk applies them anyway).
    pub fn changed_on(&self, root: &Path) -> Vec<String> {
        self.files
            .iter()
            .filter(|(path, frozen)| {
                std::fs::read(root.join(path.as_str())).ok().as_ref() != Some(&frozen.contents)
            })
            .map(|(path, _)| path.clone())
            .collect()
    }
}

/// Whether a shared path names an ignore file whose rules are frozen.
pub fn is_ignore_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    IGNORE_FILE_NAMES.contains(&name)
}

fn matcher(root: &Path, path: &str, contents: &[u8]) -> Gitignore {
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let mut builder = GitignoreBuilder::new(root.join(folder));
    for line in String::from_utf8_lossy(contents).lines() {
        // A line that is not a valid pattern is skipped, as git skips it.
        let _ = builder.add_line(None, line);
    }
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_ignore_file_decides_and_edits_after_the_snapshot_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("config")).unwrap();
        std::fs::write(root.join(".gitignore"), "secrets.txt\n*.log\n").unwrap();
        std::fs::write(root.join("config/.gitignore"), "local.yml\n!keep.log\n").unwrap();
        let frozen = FrozenIgnores::read(
            root,
            [".gitignore".to_string(), "config/.gitignore".to_string()],
        );
        let hides = |path: &str| frozen.hides(root, Path::new(path), false);
        assert!(hides("secrets.txt"));
        assert!(hides("deep/secrets.txt"));
        assert!(hides("config/local.yml"));
        assert!(hides("app.log"));
        assert!(!hides("config/keep.log"), "the nested file re-includes it");
        assert!(!hides("src/main.rs"));

        std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
        assert!(hides("secrets.txt"), "the snapshot still hides it");
        assert_eq!(frozen.changed_on(root), vec![".gitignore".to_string()]);
        std::fs::remove_file(root.join("config/.gitignore")).unwrap();
        assert_eq!(frozen.changed_on(root).len(), 2);
    }

    #[test]
    fn ignore_files_are_known_by_name_at_any_depth() {
        assert!(is_ignore_file(".gitignore"));
        assert!(is_ignore_file("a/b/.ignore"));
        assert!(!is_ignore_file("a/gitignore"));
        assert!(!is_ignore_file(".gitignore.bak"));
    }
}
