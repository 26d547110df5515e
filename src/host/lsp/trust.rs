//! What a language server may run on the host when the host has not trusted the project.
//!
//! Members can edit the shared files, and several language servers run code taken from
//! the project: rust-analyzer builds and runs build scripts and proc macros (and runs
//! `cargo check`, which does both, on save); typescript-language-server starts the
//! project's own `node_modules/typescript` and loads the plugins its tsconfig names;
//! gopls runs `go list`, which may fetch and run the toolchain `go.mod` asks for; pylsp's
//! jedi imports `numpy` for real (pylsp's default `auto_import_modules`), which in a
//! checkout of numpy is the project's code, and its pylint and mypy plugins load
//! plugins named in the project's configuration. So an editor of a session could run
//! code on the host's machine by editing and saving a file.
//!
//! Unless the host passes `--trust-project`, each default server starts with settings
//! that run no project code, or does not start at all (hover and definition then come
//! from the syntax tree, as for a language with no server installed). The files that
//! tell the host's tools which programs to run (`.cargo/config.toml`,
//! `rust-toolchain.toml`, `rust-analyzer.toml`) are read-only to members:
//! `configures_tools` names them. docs/SECURITY.md lists each server's settings and why.

use serde_json::{Value, json};

/// What a server is started with: `initialization_options` in `initialize`, and
/// `settings` (keyed by section, e.g. `{"pylsp": {...}}`) both pushed with
/// `workspace/didChangeConfiguration` and given when the server asks with
/// `workspace/configuration`, so a server reading either way gets the same answer.
/// The default is none: the server's own defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Settings {
    pub(crate) initialization_options: Option<Value>,
    pub(crate) settings: Option<Value>,
}

/// How a server is started for a project the host has not trusted.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Untrusted {
    Start(Settings),
    /// Do not start it: no setting keeps it from running project code.
    Refuse {
        why: &'static str,
    },
}

/// The policy for the server whose program is called `server` (its file name, e.g.
/// `rust-analyzer`). Servers the host configured itself and we have not audited start
/// as configured: the host chose them.
pub(crate) fn untrusted(server: &str) -> Untrusted {
    match server {
        "rust-analyzer" => {
            let options = rust_analyzer_options();
            Untrusted::Start(Settings {
                settings: Some(json!({ "rust-analyzer": options.clone() })),
                initialization_options: Some(options),
            })
        }
        "pylsp" | "pyls" => Untrusted::Start(Settings {
            initialization_options: None,
            settings: Some(json!({ "pylsp": { "plugins": {
                // jedi imports these modules instead of reading them: in a checkout of
                // one of them, that runs the project's code.
                "jedi": { "auto_import_modules": [] },
                // Both load plugins that the project's configuration names.
                "pylint": { "enabled": false },
                "pylsp_mypy": { "enabled": false },
                "mypy": { "enabled": false },
                // Builds its index by importing what it finds.
                "rope_autoimport": { "enabled": false },
                // rope runs the project's `.ropeproject/config.py` when it opens the
                // project, which these do (pylsp-rope on every code action).
                "rope_completion": { "enabled": false },
                "pylsp_rope": { "enabled": false },
            } } })),
        }),
        "typescript-language-server" => Untrusted::Refuse {
            why: "it would start the project's own node_modules/typescript and load the plugins its tsconfig names",
        },
        "gopls" => Untrusted::Refuse {
            why: "its `go list` may download and run the Go toolchain that go.mod asks for",
        },
        // clangd runs no compiler unless started with --query-driver; pyright only reads.
        _ => Untrusted::Start(Settings::default()),
    }
}

/// rust-analyzer without build scripts, proc-macro expansion or `cargo check`: the three
/// ways it compiles and runs the project's code. Type errors that only `cargo check`
/// finds are not reported; rust-analyzer's own diagnostics still are.
fn rust_analyzer_options() -> Value {
    json!({
        "cargo": { "buildScripts": { "enable": false } },
        "procMacro": { "enable": false },
        "checkOnSave": false,
    })
}

/// The value of the dotted `section` (`rust-analyzer`, `pylsp.plugins`) in `settings`,
/// or null: the answer to one item of a `workspace/configuration` request.
pub(crate) fn section(settings: &Value, section: Option<&str>) -> Value {
    let Some(section) = section.filter(|section| !section.is_empty()) else {
        return settings.clone();
    };
    section
        .split('.')
        .try_fold(settings, |value, key| value.get(key))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Files that choose which programs the host's tools run: cargo's configuration
/// (`rustc-wrapper`, `rustc`, `linker`), rustup's toolchain file (a `path` to any
/// program) and rust-analyzer's own configuration (override commands). They are
/// read-only to members unless the host trusts the project. `relative` is a path inside
/// the shared folder with '/' separators.
pub fn configures_tools(relative: &str) -> bool {
    let mut components = relative
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".");
    let Some(file_name) = components.next_back() else {
        return false;
    };
    let parent = components.next_back();
    matches!(
        file_name,
        "rust-toolchain" | "rust-toolchain.toml" | "rust-analyzer.toml" | ".rust-analyzer.toml"
    ) || (parent == Some(".cargo") && matches!(file_name, "config" | "config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_analyzer_runs_no_build_scripts_proc_macros_or_checks() {
        let Untrusted::Start(Settings {
            initialization_options: Some(options),
            settings: Some(settings),
        }) = untrusted("rust-analyzer")
        else {
            panic!("rust-analyzer starts with settings");
        };
        assert_eq!(options["cargo"]["buildScripts"]["enable"], false);
        assert_eq!(options["procMacro"]["enable"], false);
        assert_eq!(options["checkOnSave"], false);
        assert_eq!(section(&settings, Some("rust-analyzer")), options);
    }

    #[test]
    fn servers_no_setting_makes_safe_are_refused() {
        assert!(matches!(
            untrusted("typescript-language-server"),
            Untrusted::Refuse { .. }
        ));
        assert!(matches!(untrusted("gopls"), Untrusted::Refuse { .. }));
    }

    #[test]
    fn configuration_sections_are_found_by_dotted_path() {
        let settings = json!({ "pylsp": { "plugins": { "pylint": { "enabled": false } } } });
        assert_eq!(
            section(&settings, Some("pylsp.plugins.pylint")),
            json!({ "enabled": false })
        );
        assert_eq!(section(&settings, Some("pylsp.nothing")), Value::Null);
        assert_eq!(section(&settings, None), settings);
    }

    #[test]
    fn tool_configuration_files_are_recognized_at_any_depth() {
        for path in [
            ".cargo/config.toml",
            "crates/a/.cargo/config",
            "./rust-toolchain.toml",
            "rust-toolchain",
            "sub/rust-analyzer.toml",
        ] {
            assert!(configures_tools(path), "{path}");
        }
        for path in [
            "build.rs",
            "Cargo.toml",
            "config.toml",
            "cargo/config.toml",
            "src/.cargo.rs",
            "",
        ] {
            assert!(!configures_tools(path), "{path}");
        }
    }
}
