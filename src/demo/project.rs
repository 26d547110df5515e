//! The bundled example project, compiled into the binary so that `cotype demo` works from
//! `cargo install` without the source tree, and written to a fresh temporary folder for
//! each run (the host shares a real folder; the user's edits land on real files there).
//!
//! The list is explicit rather than generated: adding a file to examples/demo-project is a
//! deliberate change to the demo, and a test below fails if the two disagree.

use std::io;
use std::path::Path;

/// One file of the project: its path relative to the root, its text, and whether it is
/// a script the user may run.
pub struct ProjectFile {
    pub path: &'static str,
    pub text: &'static str,
    pub executable: bool,
}

macro_rules! file {
    ($path:literal) => {
        file!($path, false)
    };
    ($path:literal, $executable:expr) => {
        ProjectFile {
            path: $path,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/demo-project/",
                $path
            )),
            executable: $executable,
        }
    };
}

/// The files written to the demo's folder. SCRIPT.md is not among them: it is the
/// partner's script and would give the bug away.
pub const FILES: &[ProjectFile] = &[
    file!(".gitignore"),
    file!("Cargo.lock"),
    file!("Cargo.toml"),
    file!("README.md"),
    file!("data/books.tsv"),
    file!("scripts/check.sh", true),
    file!("shelf.toml"),
    file!("src/book.rs"),
    file!("src/config.rs"),
    file!("src/lib.rs"),
    file!("src/main.rs"),
    file!("src/pager.rs"),
    file!("tools/import_csv.py"),
    file!("web/shelf.js"),
];

/// The partner's script (see `partner::Script::parse`).
pub const SCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/demo-project/SCRIPT.md"
));

/// The bundled text of `path`, if it is one of the project's files.
pub fn text_of(path: &str) -> Option<&'static str> {
    FILES.iter().find(|f| f.path == path).map(|f| f.text)
}

/// A fresh copy of the project in a temporary folder, removed when this is dropped.
pub struct ProjectDir {
    dir: tempfile::TempDir,
}

impl ProjectDir {
    pub fn create() -> io::Result<ProjectDir> {
        let dir = tempfile::Builder::new().prefix("cotype-demo-").tempdir()?;
        for file in FILES {
            write_file(dir.path(), file)?;
        }
        Ok(ProjectDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn write_file(root: &Path, file: &ProjectFile) -> io::Result<()> {
    let path = root.join(file.path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, file.text)?;
    #[cfg(unix)]
    if file.executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of examples/demo-project except the script is bundled, and nothing else:
    /// a file added there without being listed here would silently miss from the demo.
    #[test]
    fn bundles_exactly_the_example_project() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-project");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("the example project is readable") {
                let path = entry.expect("a readable entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under the root");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.retain(|p| p != "SCRIPT.md");
        on_disk.sort();
        let bundled: Vec<String> = FILES.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(bundled, on_disk);
    }

    #[test]
    fn writes_a_fresh_copy_and_removes_it() {
        let project = ProjectDir::create().expect("a temporary folder");
        let root = project.path().to_path_buf();
        let pager = std::fs::read_to_string(root.join("src/pager.rs")).expect("written");
        assert!(
            pager.contains("start + per_page - 1"),
            "the bug is there to find"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(root.join("scripts/check.sh"))
                .expect("written")
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "check.sh stays runnable");
        }
        assert!(!root.join("SCRIPT.md").exists(), "the script is not shown");
        drop(project);
        assert!(!root.exists(), "the folder is removed at exit");
    }
}
