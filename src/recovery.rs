//! Keeping documents when a session ends badly: a participant's when the host is gone for
//! good or ends the session, the host's unsaved ones when its relay connection is lost for
//! good. A copy of each goes into a folder of the user's own data folder, named after the
//! session, so nothing typed is lost.

use std::path::{Path, PathBuf};

use ropey::Rope;

use crate::link::SessionId;

/// `sessions/SESSION` in the data folder (`$XDG_DATA_HOME/cotype` on Linux), or `None`
/// where the platform has none.
pub fn folder(session: &SessionId) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("dev", "cotype", "cotype")?;
    Some(dirs.data_dir().join("sessions").join(session.to_string()))
}

/// Writes `text` as `path` (the shared file's path) under `folder` and returns where.
/// A path that would leave the folder (`..`, absolute) is refused: it came from the host.
pub fn keep(folder: &Path, path: &str, text: &Rope) -> std::io::Result<PathBuf> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|part| *part == ".." || part.contains('\\'))
    {
        return Err(std::io::Error::other(format!(
            "`{path}` is not a path inside the shared folder"
        )));
    }
    let target = parts
        .iter()
        .fold(folder.to_path_buf(), |at, part| at.join(part));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&target)?);
    text.write_to(&mut file)?;
    std::io::Write::flush(&mut file)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_land_inside_the_folder_and_paths_out_of_it_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let kept = keep(
            dir.path(),
            "src/./main.rs",
            &Rope::from_str("fn main() {}\n"),
        )
        .unwrap();
        assert_eq!(kept, dir.path().join("src/main.rs"));
        assert_eq!(std::fs::read_to_string(kept).unwrap(), "fn main() {}\n");
        for hostile in ["../escape.txt", "a/../../b", "/", ""] {
            assert!(
                keep(dir.path(), hostile, &Rope::new()).is_err(),
                "{hostile}"
            );
        }
    }
}
