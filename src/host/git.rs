//! The host's git repository, read in process with libgit2 (the `git2` crate): no `git`
//! program is run, per keystroke or otherwise. Members learn the branch, which shared
//! files changed, and a shared file's text in the index and in HEAD; nothing is ever read
//! for them from under `.git/` by path, and every path they name or are told goes through
//! the workspace's hide rules first (the session does that, see `session/git.rs`).
//!
//! Why git2 and not gix: one C library built once (libgit2, vendored, so no system
//! package is needed) against gix's many crates and features for status; on a two-core
//! machine git2 builds faster, and libgit2's status, index and tree lookups are the ones
//! most editors have used for a decade.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository, Status, StatusOptions};

use crate::protocol::git::{GitBase, GitChange, GitStatus};

/// Where the shared folder's repository is. Opened again for each question: a
/// `git2::Repository` may not be shared between threads, and opening takes microseconds.
#[derive(Debug, Clone)]
pub struct HostRepository {
    /// The repository's `.git` folder (canonical).
    git_dir: PathBuf,
    /// The shared folder inside the work tree: `""`, or `"sub/dir/"` when a subfolder of
    /// a repository is shared (paths of the repository outside it are never told).
    prefix: String,
}

impl HostRepository {
    /// The repository whose work tree holds `root`, if any (bare ones have no files).
    pub fn discover(root: &Path) -> Option<HostRepository> {
        let repository = Repository::discover(root).ok()?;
        let workdir = repository.workdir()?.canonicalize().ok()?;
        let root = root.canonicalize().ok()?;
        let inside = root.strip_prefix(&workdir).ok()?;
        let mut prefix = inside.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Some(HostRepository {
            git_dir: repository.path().canonicalize().ok()?,
            prefix,
        })
    }

    /// The repository's `.git` folder.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    fn open(&self) -> Result<Repository, git2::Error> {
        Repository::open(&self.git_dir)
    }

    /// Whether a change on disk at `path` (absolute) can move what members see: HEAD
    /// (a checkout, a commit), the index (staging), or a branch.
    pub fn is_repository_change(&self, path: &Path) -> bool {
        let Ok(inside) = path.strip_prefix(&self.git_dir) else {
            return false;
        };
        let inside = inside.to_string_lossy();
        inside == "HEAD"
            || inside == "index"
            || inside == "packed-refs"
            || inside.starts_with("refs")
    }

    /// The branch and the changed files of the shared folder that `shared` lets members
    /// see (`shared(path, deleted)`: a deleted file is judged without being on disk).
    pub fn status(&self, shared: impl Fn(&str, bool) -> bool) -> Result<GitStatus, git2::Error> {
        let repository = self.open()?;
        let mut options = StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .exclude_submodules(true);
        if !self.prefix.is_empty() {
            options.pathspec(&self.prefix);
        }
        let mut changes = Vec::new();
        for entry in repository.statuses(Some(&mut options))?.iter() {
            let Some(path) = entry.path().and_then(|p| p.strip_prefix(&self.prefix)) else {
                continue;
            };
            let Some(code) = porcelain(entry.status()) else {
                continue;
            };
            let deleted = code.contains('D');
            // A deleted file's name the ignore rules would hide stays unsaid too.
            let ignored = deleted
                && repository
                    .status_should_ignore(Path::new(&format!("{}{path}", self.prefix)))
                    .unwrap_or(true);
            if !ignored && shared(path, deleted) {
                changes.push(GitChange {
                    path: path.to_owned(),
                    status: code,
                });
            }
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(GitStatus {
            branch: branch_name(&repository),
            changes,
        })
    }

    /// `path`'s text (a shared file, already checked) in the index and in HEAD.
    pub fn base(&self, path: &str) -> Result<GitBase, git2::Error> {
        let repository = self.open()?;
        let in_repository = PathBuf::from(format!("{}{path}", self.prefix));
        let staged = repository
            .index()?
            .get_path(&in_repository, 0)
            .map(|entry| entry.id);
        let committed = repository
            .head()
            .ok()
            .and_then(|head| head.peel_to_tree().ok())
            .and_then(|tree| tree.get_path(&in_repository).ok())
            .filter(|entry| entry.kind() == Some(ObjectType::Blob))
            .map(|entry| entry.id());
        let text = |id: git2::Oid| {
            let blob = repository.find_blob(id).ok()?;
            if blob.is_binary() {
                return None;
            }
            String::from_utf8(blob.content().to_vec()).ok()
        };
        let head_is_index = staged.is_some() && staged == committed;
        Ok(GitBase {
            index: staged.and_then(text),
            head: committed.filter(|_| !head_is_index).and_then(text),
            head_is_index,
        })
    }
}

/// `main`; `HEAD detached at 1a2b3c4`; before the first commit, the branch HEAD names.
fn branch_name(repository: &Repository) -> Option<String> {
    match repository.head() {
        Ok(head) if head.is_branch() => head.shorthand().map(str::to_owned),
        Ok(head) => head.target().map(|id| {
            let id = id.to_string();
            format!("HEAD detached at {}", &id[..7.min(id.len())])
        }),
        Err(_) => repository
            .find_reference("HEAD")
            .ok()?
            .symbolic_target()?
            .strip_prefix("refs/heads/")
            .map(str::to_owned),
    }
}

/// Porcelain's two letters for a libgit2 status; none for a file that did not change.
pub fn porcelain(status: Status) -> Option<String> {
    if status.contains(Status::CONFLICTED) {
        return Some("UU".into());
    }
    if status.contains(Status::WT_NEW) && !status.intersects(index_flags()) {
        return Some("??".into());
    }
    let staged = if status.contains(Status::INDEX_NEW) {
        'A'
    } else if status.contains(Status::INDEX_MODIFIED) {
        'M'
    } else if status.contains(Status::INDEX_DELETED) {
        'D'
    } else if status.contains(Status::INDEX_RENAMED) {
        'R'
    } else if status.contains(Status::INDEX_TYPECHANGE) {
        'T'
    } else {
        ' '
    };
    let worktree = if status.contains(Status::WT_MODIFIED) {
        'M'
    } else if status.contains(Status::WT_DELETED) {
        'D'
    } else if status.contains(Status::WT_TYPECHANGE) {
        'T'
    } else if status.contains(Status::WT_RENAMED) {
        'R'
    } else {
        ' '
    };
    (staged != ' ' || worktree != ' ').then(|| format!("{staged}{worktree}"))
}

fn index_flags() -> Status {
    Status::INDEX_NEW
        | Status::INDEX_MODIFIED
        | Status::INDEX_DELETED
        | Status::INDEX_RENAMED
        | Status::INDEX_TYPECHANGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_letters_match_git() {
        assert_eq!(porcelain(Status::WT_MODIFIED).as_deref(), Some(" M"));
        assert_eq!(porcelain(Status::INDEX_MODIFIED).as_deref(), Some("M "));
        assert_eq!(
            porcelain(Status::INDEX_NEW | Status::WT_MODIFIED).as_deref(),
            Some("AM")
        );
        assert_eq!(porcelain(Status::WT_NEW).as_deref(), Some("??"));
        assert_eq!(porcelain(Status::WT_DELETED).as_deref(), Some(" D"));
        assert_eq!(porcelain(Status::CURRENT), None);
        assert_eq!(porcelain(Status::IGNORED), None);
    }
}
