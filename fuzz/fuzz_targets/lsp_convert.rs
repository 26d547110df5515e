//! What a language server says, turned into cotype's types: its JSON-RPC framing on
//! stdout (`read_message`, as the host's reader thread runs it), the answers
//! the host asks for (hover, definitions, references, completion, diagnostics) decoded
//! as the bridge decodes them, and then cotype's own conversions: URIs to shared paths
//! (never a path outside the shared folder), positions in the negotiated unit to
//! (line, char) inside the document, hover contents to markdown.
#![no_main]

use std::sync::OnceLock;

use cotype::host::lsp::fuzzing::{Place, Root, hover_markdown, range_from_lsp, read_message};
use cotype::text::LspEncoding;
use libfuzzer_sys::fuzz_target;
use lsp_types::{
    CompletionResponse, GotoDefinitionResponse, Hover, Location, PublishDiagnosticsParams, Uri,
};
use ropey::Rope;

/// The shared folder answers are judged against: a temporary folder with one file.
fn root() -> &'static Root {
    static ROOT: OnceLock<(tempfile::TempDir, Root)> = OnceLock::new();
    &ROOT
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary folder");
            std::fs::create_dir(dir.path().join("src")).expect("a folder in it");
            std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").expect("a file");
            let root = Root::new(dir.path()).expect("the folder is a root");
            (dir, root)
        })
        .1
}

/// The document positions are converted against: lines of every width class.
fn text() -> &'static Rope {
    static TEXT: OnceLock<Rope> = OnceLock::new();
    TEXT.get_or_init(|| Rope::from_str("fn main() {\r\n    let é = \"漢字😀\";\n\n\tx\u{301}\n"))
}

fn check_uri(uri: &Uri) {
    match root().place(uri) {
        Some(Place::Workspace { relative, absolute }) => {
            assert!(
                absolute.starts_with(root().dir()),
                "{absolute:?} is outside the root"
            );
            assert!(!relative.is_empty() && !relative.starts_with('/'));
            assert!(
                relative
                    .split('/')
                    .all(|part| !part.is_empty() && part != ".." && part != ".")
            );
        }
        Some(Place::External { file_name, .. }) => {
            assert!(
                !file_name.contains('/'),
                "an external place shows only a name: {file_name}"
            );
        }
        None => {}
    }
}

fn check_range(range: lsp_types::Range) {
    let text = text();
    for encoding in [LspEncoding::Utf8, LspEncoding::Utf16, LspEncoding::Utf32] {
        let converted = range_from_lsp(text, range, encoding);
        for position in [converted.start, converted.end] {
            assert!(
                position.line < text.len_lines(),
                "{position:?} is past the last line"
            );
            let line_chars = text.line(position.line).len_chars();
            assert!(position.col <= line_chars, "{position:?} is past its line");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 7 {
        // The server's stdout, framing included.
        0 => {
            let mut reader = std::io::BufReader::new(json);
            for _ in 0..4 {
                match read_message(&mut reader) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
        1 => {
            if let Ok(Some(hover)) = serde_json::from_slice::<Option<Hover>>(json) {
                let _ = hover_markdown(hover.contents);
                if let Some(range) = hover.range {
                    check_range(range);
                }
            }
        }
        2 => {
            let targets = match serde_json::from_slice::<Option<GotoDefinitionResponse>>(json) {
                Ok(Some(GotoDefinitionResponse::Scalar(location))) => {
                    vec![(location.uri, location.range)]
                }
                Ok(Some(GotoDefinitionResponse::Array(locations))) => {
                    locations.into_iter().map(|l| (l.uri, l.range)).collect()
                }
                Ok(Some(GotoDefinitionResponse::Link(links))) => links
                    .into_iter()
                    .flat_map(|l| {
                        [
                            (l.target_uri.clone(), l.target_selection_range),
                            (l.target_uri, l.target_range),
                        ]
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (uri, range) in targets {
                check_uri(&uri);
                check_range(range);
            }
        }
        3 => {
            if let Ok(Some(locations)) = serde_json::from_slice::<Option<Vec<Location>>>(json) {
                for location in locations {
                    check_uri(&location.uri);
                    check_range(location.range);
                }
            }
        }
        4 => {
            let _ = serde_json::from_slice::<Option<CompletionResponse>>(json);
        }
        5 => {
            if let Ok(params) = serde_json::from_slice::<PublishDiagnosticsParams>(json) {
                check_uri(&params.uri);
                for diagnostic in params.diagnostics {
                    check_range(diagnostic.range);
                }
            }
        }
        // A URI alone, as text.
        _ => {
            if let Ok(text) = std::str::from_utf8(json)
                && let Ok(uri) = text.parse::<Uri>()
            {
                check_uri(&uri);
            }
        }
    }
});
