//! The document outline where no language server is installed for the language: the
//! host reads the syntax tree (tree-sitter's tags queries) and says the symbols come
//! from it. Python and Rust with servers configured that do not exist, so the test holds
//! on any machine.

use cotype::host::lsp::{LineCol, LspBridge, LspConfig, ServerCommand, Symbol};

const PYTHON: &str = "import os\n\n\nclass Greeter:\n    \"\"\"Says hello.\"\"\"\n\n    def greet(self, name):\n        return f\"hello {name}\"\n\n    def wave(self):\n        pass\n\n\ndef main():\n    Greeter().greet(os.name)\n";

const RUST: &str = "pub struct Point {\n    x: i32,\n}\n\nimpl Point {\n    pub fn norm(&self) -> i32 {\n        self.x.abs()\n    }\n}\n\npub fn origin() -> Point {\n    Point { x: 0 }\n}\n\nmod shapes {\n    pub fn square() {}\n}\n";

fn rows(symbols: &[Symbol]) -> Vec<(String, String, Option<String>, LineCol)> {
    symbols
        .iter()
        .map(|symbol| {
            assert!(symbol.location.syntactic, "{symbol:?} says it is syntactic");
            (
                symbol.kind.clone(),
                symbol.name.clone(),
                symbol.container.clone(),
                symbol.location.range.start,
            )
        })
        .collect()
}

fn at(line: usize, col: usize) -> LineCol {
    LineCol { line, col }
}

#[tokio::test]
async fn without_a_server_the_outline_comes_from_the_syntax_tree() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("greet.py"), PYTHON).expect("write greet.py");
    std::fs::write(dir.path().join("point.rs"), RUST).expect("write point.rs");
    let mut config = LspConfig::default();
    config.set_server("py", ServerCommand::new("cotype-test-no-pylsp", &[]));
    config.set_server(
        "rs",
        ServerCommand::new("cotype-test-no-rust-analyzer", &[]),
    );
    let bridge = LspBridge::new(dir.path(), config).expect("bridge");

    // From the disk (nobody has it open).
    let python = bridge.document_symbols("greet.py").await.expect("outline");
    let class = "Greeter".to_owned();
    assert_eq!(
        rows(&python),
        vec![
            ("class".into(), "Greeter".into(), None, at(3, 6)),
            (
                "function".into(),
                "greet".into(),
                Some(class.clone()),
                at(6, 8)
            ),
            ("function".into(), "wave".into(), Some(class), at(9, 8)),
            ("function".into(), "main".into(), None, at(13, 4)),
        ]
    );

    // From the shared text once it is open: a function typed a moment ago is there.
    let edited = format!("{RUST}\nfn typed_just_now() {{}}\n");
    let _ = bridge.did_open("point.rs", &edited, 1).await;
    let rust = rows(&bridge.document_symbols("point.rs").await.expect("outline"));
    let names: Vec<(&str, &str)> = rust
        .iter()
        .map(|(kind, name, _, _)| (kind.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("class", "Point"),
            ("method", "norm"),
            ("function", "origin"),
            ("module", "shapes"),
            ("function", "square"),
            ("function", "typed_just_now"),
        ]
    );
    let square = rust.iter().find(|row| row.1 == "square").expect("square");
    assert_eq!(square.2.as_deref(), Some("shapes"));
    assert_eq!(square.3, at(15, 11));

    // A file no grammar reads still says there is no server.
    std::fs::write(dir.path().join("notes.zig"), "const x = 1;\n").expect("write");
    let zig = bridge.document_symbols("notes.zig").await;
    assert_eq!(
        zig.map_err(|error| error.to_string()),
        Err("no language server for .zig on the host".to_owned())
    );
    bridge.shutdown().await;
}
