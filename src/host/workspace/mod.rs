//! What the host may serve from the folder it shares, and nothing else.
//!
//! Participants can ask for any path they like; this module is the one place that decides
//! which of those requests the host answers. It walks the shared folder once (and again on
//! [`Workspace::refresh`]) and keeps an index of the files it may serve. Listing, reading and
//! searching all consult that index, so a file that is not listed can never be read or
//! searched: an allowlist, not a set of filters applied separately at each door.
//!
//! A file is shared when all of these hold:
//!
//! - It lies under the shared folder and is reached without leaving it. The walk does not
//!   descend into symbolic links to folders (as ripgrep without `-L`); a symbolic link to a
//!   file is listed only if its target is itself a shared file inside the folder, so a link
//!   cannot smuggle out `.env`, a gitignored file or anything outside the folder.
//! - It is not ignored by `.gitignore` files (nested ones too, and those of parent folders),
//!   `.ignore` files, `.git/info/exclude` or the user's global git excludes, exactly as
//!   ripgrep honors them, also when the folder is not a git repository.
//! - Neither it nor any folder above it matches a hide rule: [`DEFAULT_HIDDEN`] plus the
//!   host's `--hide GLOB`s. A rule without `/` matches a file or folder name at any depth
//!   (`*.pem`, `.git`); a rule with `/` matches the path from the shared folder's top
//!   (`config/prod/*.yaml`; a leading `/` is allowed). Rules ignore case, so `ID_RSA` on a
//!   case-insensitive disk is hidden like `id_rsa`.
//! - It is a regular file with a UTF-8 name (the protocol carries names as text; sockets,
//!   pipes and devices are never opened).
//!
//! Dotfiles: unlike ripgrep's default, names starting with `.` are shared unless a rule hides
//! them. In an editor, `.github/workflows/ci.yml`, `.gitignore` or `.editorconfig` are part of
//! the project; secrets are kept out by the hide rules instead. Search sees exactly the same
//! files (it takes them from the same index).
//!
//! Refusals never tell a hidden file from a missing one: both read "is not shared by the
//! host". Binary files (a NUL byte in the first 8 KiB, the test git and ripgrep use) are
//! listed, so the tree looks like the folder, but their contents are not sent.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use crate::host::frozen_ignores::FrozenIgnores;
use crate::protocol::FILE_CHUNK_LEN;
use crate::protocol::message::FileEntry;

mod changes;
mod hide;
mod index;
pub use changes::{ChangeError, Kind};
use hide::HideRules;
use index::{Index, ignore_files, walk};

/// Hidden by default, in the syntax of `--hide` (names at any depth unless they hold a `/`).
///
/// The version-control store, environment files (`.env`, `.env.local`, …), SSH private keys
/// (and their `.pub` halves, which share the prefix and are not worth an exception),
/// private keys and certificates in the usual containers, the credential folders and
/// files people keep in a home folder (in case someone shares theirs): tokens of git,
/// npm, yarn, PyPI, PostgreSQL, MySQL, Kubernetes, Docker, GitHub's CLI and Vault,
/// service-account `credentials.json`, Terraform state (which holds secrets in the clear)
/// and shell histories.
pub const DEFAULT_HIDDEN: &[&str] = &[
    ".git",
    ".env*",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "id_dsa*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.crt",
    "*.der",
    "*.keystore",
    "*.jks",
    ".ssh",
    ".gnupg",
    ".aws",
    ".netrc",
    "_netrc",
    "id_ecdsa_sk*",
    "id_ed25519_sk*",
    ".git-credentials",
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".pgpass",
    ".my.cnf",
    ".kube",
    "**/.docker/config.json",
    "**/.config/gh/hosts.yml",
    ".vault-token",
    "credentials.json",
    "*.tfstate",
    "*.tfstate.backup",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
];

/// How many leading bytes decide whether a file is binary (git's and ripgrep's choice).
pub const BINARY_PROBE_LEN: usize = 8 * 1024;

/// Why a folder cannot be shared.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot share {}: {source}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot share {}: it is not a folder; give the folder that holds it", path.display())]
    NotAFolder { path: PathBuf },
    #[error("hide rule `{glob}` is not a valid glob: {reason}")]
    HideGlob { glob: String, reason: String },
    #[error("hide rule `{glob}` starts with `!`; hide rules can only hide, not re-include")]
    HideNegation { glob: String },
    #[error("a hide rule is empty; give a glob such as `*.secret` or `config/prod/*`")]
    HideEmpty,
}

/// Why a participant's request for a path is refused. Each message is meant for them.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("no path given; ask for a file by its path inside the shared folder")]
    Empty,
    #[error("{path:?} contains a NUL byte, which no file name can")]
    Nul { path: String },
    #[error("`{path}` uses `\\`; separate folders with `/`")]
    Backslash { path: String },
    #[error(
        "`{path}` is an absolute path; ask for a path inside the shared folder, like `src/main.rs`"
    )]
    Absolute { path: String },
    #[error("`{path}` uses `..`; only paths inside the shared folder can be asked for")]
    ParentDir { path: String },
    /// Hidden, gitignored and missing files, and links leading out of the folder, all get
    /// this message, on purpose: a refusal must not tell which secrets or links exist.
    #[error("`{path}` is not shared by the host")]
    NotShared { path: String },
    #[error("`{path}` is a folder; ask for a file inside it")]
    Directory { path: String },
    #[error("`{path}` is a binary file; cotype shares text files only")]
    Binary { path: String },
    #[error("the host could not read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The shared folder, as participants may see it.
#[derive(Debug)]
pub struct Workspace {
    /// Canonical: every containment check compares canonical paths against it.
    root: PathBuf,
    rules: Arc<HideRules>,
    /// Ignore files' rules as the host's user last accepted them (see `frozen_ignores`).
    frozen: RwLock<Arc<FrozenIgnores>>,
    /// Ignore files already reported as changed, so the host's user hears once.
    reported_ignore_changes: std::sync::Mutex<Vec<String>>,
    index: RwLock<Index>,
}

impl Workspace {
    /// Shares `root`, hiding [`DEFAULT_HIDDEN`] and `extra_hide` on top of ignore files.
    pub fn open(root: &Path, extra_hide: &[String]) -> Result<Workspace, WorkspaceError> {
        let rules = Arc::new(HideRules::new(extra_hide)?);
        let canonical = root.canonicalize().map_err(|source| WorkspaceError::Root {
            path: root.to_owned(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(WorkspaceError::NotAFolder {
                path: root.to_owned(),
            });
        }
        let index = walk(&canonical, &rules, Arc::default());
        let frozen = Arc::new(FrozenIgnores::read(&canonical, ignore_files(&index)));
        Ok(Workspace {
            root: canonical,
            rules,
            frozen: RwLock::new(frozen),
            reported_ignore_changes: Default::default(),
            index: RwLock::new(index),
        })
    }

    /// The canonical path of the shared folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Walks the folder again, so files created, deleted or newly ignored since the last
    /// walk are seen. The host calls this when the file system tells it something changed.
    /// Returns the ignore files that changed since the host's user accepted them and were
    /// not reported before: what they hid stays hidden until `adopt_ignore_files`.
    pub fn refresh(&self) -> Vec<String> {
        let frozen = self.frozen();
        let index = walk(&self.root, &self.rules, frozen.clone());
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = index;
        let changed = frozen.changed_on(&self.root);
        let mut reported = self
            .reported_ignore_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let new: Vec<String> = changed
            .iter()
            .filter(|path| !reported.contains(path))
            .cloned()
            .collect();
        *reported = changed;
        new
    }

    fn frozen(&self) -> Arc<FrozenIgnores> {
        self.frozen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The host's user accepts the ignore files as they are now: rules removed from them
    /// stop hiding (the only way hiding shrinks during a session).
    pub fn adopt_ignore_files(&self) {
        let index = walk(&self.root, &self.rules, Arc::default());
        *self.frozen.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(FrozenIgnores::read(&self.root, ignore_files(&index)));
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = index;
        self.reported_ignore_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Every shared file, sorted by path.
    pub fn list(&self) -> Vec<FileEntry> {
        self.read_index()
            .files
            .iter()
            .map(|(path, file)| FileEntry {
                path: path.clone(),
                size: file.size,
            })
            .collect()
    }

    /// Whether `relative` names a shared file (as listed).
    pub fn is_visible(&self, relative: &str) -> bool {
        normalize(relative).is_ok_and(|path| self.read_index().files.contains_key(&path))
    }

    /// The on-disk path of a shared file, after every check in the module docs.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, AccessError> {
        let path = normalize(relative)?;
        let not_shared = || AccessError::NotShared { path: path.clone() };
        let index = self.read_index();
        if !index.files.contains_key(&path) {
            return Err(if index.folders.contains(&path) {
                AccessError::Directory { path }
            } else {
                not_shared()
            });
        }
        // The disk may have changed since the walk (a folder swapped for a link, a file
        // deleted): judge where the path leads now, and serve it only if that place is a
        // shared regular file.
        let canonical = self
            .root
            .join(&path)
            .canonicalize()
            .map_err(|_| not_shared())?;
        let Ok(inside) = canonical.strip_prefix(&self.root) else {
            return Err(not_shared());
        };
        let target = inside
            .to_str()
            .map(|target| target.replace(std::path::MAIN_SEPARATOR, "/"));
        let target_is_shared = target
            .and_then(|target| index.files.get(&target).copied())
            .is_some_and(|file| !file.is_link);
        if !target_is_shared || !canonical.is_file() {
            return Err(not_shared());
        }
        Ok(canonical)
    }

    /// The whole contents of a shared text file. Large files go through
    /// [`Workspace::open_for_streaming`] instead.
    pub fn read(&self, relative: &str) -> Result<Vec<u8>, AccessError> {
        let mut stream = self.open_for_streaming(relative)?;
        let mut contents = Vec::with_capacity(usize::try_from(stream.size()).unwrap_or(0));
        stream
            .read_to_end(&mut contents)
            .map_err(|source| AccessError::Io {
                path: stream.path.clone(),
                source,
            })?;
        Ok(contents)
    }

    /// Opens a shared file and reads its first bytes, refusing binary files: the one gate
    /// every read of file contents passes. Returns the file (positioned after the probe),
    /// its size, the probe and the normalized path.
    fn open_text(&self, relative: &str) -> Result<(File, u64, Vec<u8>, String), AccessError> {
        let disk_path = self.resolve(relative)?;
        let path = normalize(relative)?;
        let io_error = |source| AccessError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&disk_path).map_err(io_error)?;
        let size = file.metadata().map_err(io_error)?.len();
        let mut probe = Vec::with_capacity(BINARY_PROBE_LEN);
        (&mut file)
            .take(BINARY_PROBE_LEN as u64)
            .read_to_end(&mut probe)
            .map_err(io_error)?;
        if probe.contains(&0) {
            return Err(AccessError::Binary { path });
        }
        Ok((file, size, probe, path))
    }

    /// Opens a shared text file to be sent in chunks; refuses binary files up front.
    pub fn open_for_streaming(&self, relative: &str) -> Result<FileStream, AccessError> {
        let (file, size, probe, path) = self.open_text(relative)?;
        // Bound the stream by the size announced to the reader, even if the file grows.
        let rest = size.saturating_sub(probe.len() as u64);
        Ok(FileStream {
            path,
            size,
            offset: 0,
            reader: io::Cursor::new(probe).chain(file.take(rest)),
        })
    }

    /// Up to `len` bytes (at most [`FILE_CHUNK_LEN`]) of a shared text file from `offset`,
    /// and the file's size: what one `Response::FileChunk` carries. Participants pull large
    /// files this way, a few chunks ahead. Binary files are refused at every offset.
    pub fn read_range(
        &self,
        relative: &str,
        offset: u64,
        len: usize,
    ) -> Result<(u64, Vec<u8>), AccessError> {
        let (mut file, size, _probe, path) = self.open_text(relative)?;
        let io_error = |source| AccessError::Io { path, source };
        let len = (len.min(FILE_CHUNK_LEN) as u64).min(size.saturating_sub(offset));
        let mut data = Vec::with_capacity(len as usize);
        file.seek(io::SeekFrom::Start(offset))
            .and_then(|_| file.take(len).read_to_end(&mut data))
            .map_err(io_error)?;
        Ok((size, data))
    }

    /// The files search reads: shared regular files, sorted. Links are left out because
    /// their targets are searched under their own names (as ripgrep does).
    pub(crate) fn searchable_files(&self) -> Vec<String> {
        let index = self.read_index();
        index
            .files
            .iter()
            .filter(|(_, file)| !file.is_link)
            .map(|(path, _)| path.clone())
            .collect()
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A shared text file being read in order, at most [`Workspace::open_for_streaming`]'s
/// announced size.
pub struct FileStream {
    path: String,
    size: u64,
    offset: u64,
    reader: io::Chain<io::Cursor<Vec<u8>>, io::Take<File>>,
}

impl FileStream {
    /// The file's size when it was opened; the stream never yields more.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next piece of at most [`FILE_CHUNK_LEN`] bytes and its offset in the file, or
    /// `None` at the end (what a `Response::FileChunk` carries).
    pub fn next_chunk(&mut self) -> Result<Option<(u64, Vec<u8>)>, AccessError> {
        let mut chunk = Vec::with_capacity(FILE_CHUNK_LEN);
        (&mut self.reader)
            .take(FILE_CHUNK_LEN as u64)
            .read_to_end(&mut chunk)
            .map_err(|source| AccessError::Io {
                path: self.path.clone(),
                source,
            })?;
        if chunk.is_empty() {
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += chunk.len() as u64;
        Ok(Some((offset, chunk)))
    }
}

impl Read for FileStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.reader.read(buf)?;
        self.offset += read as u64;
        Ok(read)
    }
}

impl std::fmt::Debug for FileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStream")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish()
    }
}

/// Checks the shape of a requested path and returns it in the index's form
/// (`a/b.txt`: no `.`, no empty parts, no trailing `/`). The disk is not consulted.
fn normalize(relative: &str) -> Result<String, AccessError> {
    let path = || relative.to_owned();
    if relative.is_empty() {
        return Err(AccessError::Empty);
    }
    if relative.contains('\0') {
        return Err(AccessError::Nul { path: path() });
    }
    let bytes = relative.as_bytes();
    // `C:`, `C:/x`, `C:\x`; a Unix name like `c:notes` stays a name.
    let has_drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes.get(2), None | Some(b'/' | b'\\'));
    if relative.starts_with('/') || has_drive {
        return Err(AccessError::Absolute { path: path() });
    }
    // A participant on Windows may send `src\main.rs`; on the host `\` is either a
    // separator or part of a name, and guessing which is how traversal bugs start.
    if relative.contains('\\') {
        return Err(AccessError::Backslash { path: path() });
    }
    let mut parts = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(AccessError::ParentDir { path: path() }),
            name => parts.push(name),
        }
    }
    if parts.is_empty() {
        return Err(AccessError::Directory { path: path() });
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_paths_are_normalized_or_refused_by_shape() {
        assert_eq!(normalize("./src//main.rs/").unwrap(), "src/main.rs");
        assert!(matches!(normalize(""), Err(AccessError::Empty)));
        assert!(matches!(normalize("a\0b"), Err(AccessError::Nul { .. })));
        assert!(matches!(
            normalize("a\\b"),
            Err(AccessError::Backslash { .. })
        ));
        assert!(matches!(
            normalize("..\\etc\\passwd"),
            Err(AccessError::Backslash { .. })
        ));
        assert!(matches!(
            normalize("C:/Windows"),
            Err(AccessError::Absolute { .. })
        ));
        assert!(matches!(
            normalize("/etc/passwd"),
            Err(AccessError::Absolute { .. })
        ));
        assert!(matches!(
            normalize("a/./../b"),
            Err(AccessError::ParentDir { .. })
        ));
        assert!(matches!(
            normalize("./"),
            Err(AccessError::Directory { .. })
        ));
    }

    #[test]
    fn hide_rules_match_names_at_any_depth_and_paths_from_the_top() {
        let rules = HideRules::new(&["config/prod/*".to_owned(), "/notes.txt".to_owned()]).unwrap();
        assert!(rules.hides(Path::new("deep/down/.env.local")));
        assert!(rules.hides(Path::new("keys/Server.KEY")));
        assert!(rules.hides(Path::new("config/prod/db.yaml")));
        assert!(!rules.hides(Path::new("config/prod/deeper/db.yaml")));
        assert!(rules.hides(Path::new("notes.txt")));
        assert!(!rules.hides(Path::new("docs/notes.txt")));
        assert!(!rules.hides(Path::new("src/environment.rs")));
        assert!(!rules.hides(Path::new(".github")));
    }

    #[test]
    fn common_credential_files_are_hidden_by_default() {
        let rules = HideRules::new(&[]).unwrap();
        for path in [
            ".git-credentials",
            "home/.npmrc",
            ".pypirc",
            ".pgpass",
            ".netrc",
            ".kube/config",
            ".docker/config.json",
            "home/.docker/config.json",
            ".config/gh/hosts.yml",
            "infra/prod.tfstate",
            "infra/prod.tfstate.backup",
            ".vault-token",
            "gcp/credentials.json",
            ".bash_history",
            "id_ed25519_sk",
            "id_ecdsa_sk.pub",
        ] {
            let hidden = Path::new(path)
                .ancestors()
                .filter(|part| !part.as_os_str().is_empty())
                .any(|part| rules.hides(part));
            assert!(hidden, "{path} is shared by default");
        }
        assert!(!rules.hides(Path::new("docker/config.json.example")));
        assert!(!rules.hides(Path::new("src/id_map.rs")));
    }

    #[test]
    fn hide_rules_cannot_re_include() {
        let error = HideRules::new(&["!.env".to_owned()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "hide rule `!.env` starts with `!`; hide rules can only hide, not re-include"
        );
        assert!(matches!(
            HideRules::new(&["/".to_owned()]),
            Err(WorkspaceError::HideEmpty)
        ));
        assert!(matches!(
            HideRules::new(&["a[".to_owned()]),
            Err(WorkspaceError::HideGlob { .. })
        ));
    }
}
