//! Per-language scope tests: a small sample file in each language cotype colors (besides
//! Markdown and Python, tested in `tests.rs`), with the scope of a keyword, a string, a
//! function name at its definition, a comment and a type where the grammar has them; and
//! Markdown fences in some of these languages colored by their own grammar.

use super::*;

/// Asserts the scope at the `nth` (0-based) occurrence of each needle.
fn assert_scopes(language: Language, source: &str, expected: &[(&str, usize, &str)]) {
    let rope = Rope::from_str(source);
    let syntax = Syntax::new(language, &rope);
    assert!(syntax.is_enabled(), "{language:?}");
    let highlights = syntax.highlights(&rope, 0..rope.len_bytes());
    let mut wrong = Vec::new();
    for &(needle, nth, scope) in expected {
        let byte = source
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("{language:?}: {needle:?} #{nth} in the sample"))
            .0;
        let found = highlights.scope_at(byte);
        if found != Some(scope) {
            wrong.push(format!("{needle:?} #{nth}: {found:?}, expected {scope:?}"));
        }
    }
    assert!(wrong.is_empty(), "{language:?}:\n{}", wrong.join("\n"));
}

#[test]
fn rust_sample_has_its_scopes() {
    let source = "// a point\nstruct Point { x: i32 }\n\nfn distance(p: &Point) -> i32 {\n    \
        let label = \"far\";\n    p.x\n}\n";
    assert_scopes(
        Language::Rust,
        source,
        &[
            ("fn", 0, "keyword"),
            ("let", 0, "keyword"),
            ("\"far\"", 0, "string"),
            ("distance", 0, "function"),
            ("// a point", 0, "comment"),
            ("Point", 0, "type"),
            ("Point", 1, "type"),
            ("i32", 0, "type.builtin"),
        ],
    );
}

#[test]
fn javascript_sample_has_its_scopes() {
    let source = "// says hi\nfunction greet(name) {\n  const word = 'hello';\n  \
        return new Greeter(word);\n}\nclass Greeter {}\n";
    assert_scopes(
        Language::JavaScript,
        source,
        &[
            ("function", 0, "keyword"),
            ("return", 0, "keyword"),
            ("'hello'", 0, "string"),
            ("greet", 0, "function"),
            ("// says hi", 0, "comment"),
            ("Greeter", 0, "constructor"),
        ],
    );
}

#[test]
fn typescript_sample_has_its_scopes() {
    let source = "// shapes\ninterface Shape { area: number }\n\
        function total(shapes: Shape[]): number {\n  let unit = \"cm\";\n  return 0;\n}\n";
    for language in [Language::TypeScript, Language::Tsx] {
        assert_scopes(
            language,
            source,
            &[
                ("interface", 0, "keyword"),
                ("function", 0, "keyword"),
                ("\"cm\"", 0, "string"),
                ("total", 0, "function"),
                ("// shapes", 0, "comment"),
                ("Shape", 1, "type"),
                ("number", 0, "type.builtin"),
            ],
        );
    }
}

#[test]
fn go_sample_has_its_scopes() {
    let source = "package main\n\n// Point is a place.\ntype Point struct{ X int }\n\n\
        func describe(p Point) string {\n\treturn \"point\"\n}\n";
    assert_scopes(
        Language::Go,
        source,
        &[
            ("package", 0, "keyword"),
            ("func", 0, "keyword"),
            ("\"point\"", 0, "string"),
            ("describe", 0, "function"),
            ("// Point", 0, "comment"),
            ("Point", 1, "type"),
            ("Point", 2, "type"),
        ],
    );
}

#[test]
fn c_sample_has_its_scopes() {
    let source = "/* a point */\nstruct point { int x; };\n\n\
        static int distance(struct point p) {\n    const char *label = \"far\";\n    \
        return p.x;\n}\n";
    assert_scopes(
        Language::C,
        source,
        &[
            ("static", 0, "keyword"),
            ("return", 0, "keyword"),
            ("\"far\"", 0, "string"),
            ("distance", 0, "function"),
            ("/* a point */", 0, "comment"),
            ("point", 1, "type"),
            ("int x", 0, "type"),
        ],
    );
}

#[test]
fn json_sample_has_its_scopes() {
    let source = "{\"name\": \"cotype\", \"stars\": 3, \"open\": true, \"tags\": null}\n";
    assert_scopes(
        Language::Json,
        source,
        &[
            ("\"name\"", 0, "string.special.key"),
            ("\"cotype\"", 0, "string"),
            ("3", 0, "number"),
            ("true", 0, "constant.builtin"),
            ("null", 0, "constant.builtin"),
        ],
    );
}

#[test]
fn toml_sample_has_its_scopes() {
    let source = "# the package\n[package]\nname = \"cotype\"\nversion = 1\npublish = false\n";
    assert_scopes(
        Language::Toml,
        source,
        &[
            ("# the package", 0, "comment"),
            ("package]", 0, "type"),
            ("name", 0, "property"),
            ("\"cotype\"", 0, "string"),
            ("1", 0, "number"),
            ("false", 0, "boolean"),
        ],
    );
}

#[test]
fn shell_sample_has_its_scopes() {
    let source = "#!/bin/sh\n# says hi\ngreet() {\n  if [ -n \"$1\" ]; then\n    \
        echo \"hello $1\"\n  fi\n}\n";
    assert_scopes(
        Language::Shell,
        source,
        &[
            ("if", 0, "keyword"),
            ("then", 0, "keyword"),
            ("\"hello", 0, "string"),
            ("greet", 0, "function"),
            ("# says hi", 0, "comment"),
            ("echo", 0, "function"),
        ],
    );
}

/// Fenced code in Markdown takes its colors from its own language's grammar: the same
/// scopes as in a file of that language.
#[test]
fn markdown_fences_are_colored_by_their_languages_grammar() {
    let source = "# Examples\n\n\
        ```js\nfunction greet() { return 'hi'; }\n```\n\n\
        ```go\nfunc main() { println(\"go\") }\n```\n\n\
        ```toml\n[package]\nname = \"cotype\" # the name\n```\n\n\
        ```json\n{\"key\": true}\n```\n\n\
        ```sh\nif true; then echo \"sh\"; fi\n```\n\n\
        ```c\nint add(int a) { return a; }\n```\n";
    assert_scopes(
        Language::Markdown,
        source,
        &[
            ("function", 0, "keyword"),
            ("greet", 0, "function"),
            ("'hi'", 0, "string"),
            ("func main", 0, "keyword"),
            ("main", 0, "function"),
            ("\"go\"", 0, "string"),
            ("name", 0, "property"),
            ("\"cotype\"", 0, "string"),
            ("# the name", 0, "comment"),
            ("\"key\"", 0, "string.special.key"),
            ("true", 0, "constant.builtin"),
            ("if", 0, "keyword"),
            ("\"sh\"", 0, "string"),
            ("int add", 0, "type"),
            ("add", 0, "function"),
        ],
    );
}
