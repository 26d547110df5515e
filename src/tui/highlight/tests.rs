//! Tests of syntax colors: Markdown with inline markup and fenced code, Python, every language's
//! query, incremental and deferred re-parses, the queried range, and the parse timeout.

use super::*;

fn capture_name_at(syntax: &Syntax, rope: &Rope, needle: &str) -> Option<&'static str> {
    let text = rope.to_string();
    let byte = text.find(needle).expect("needle in text");
    syntax.highlights(rope, 0..rope.len_bytes()).scope_at(byte)
}

/// The scope at the `nth` (0-based) occurrence of `needle`.
fn scope_at_nth(syntax: &Syntax, rope: &Rope, needle: &str, nth: usize) -> Option<&'static str> {
    let text = rope.to_string();
    let byte = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} in text"))
        .0;
    syntax.highlights(rope, 0..rope.len_bytes()).scope_at(byte)
}

#[test]
fn markdown_colors_inline_markup_links_and_fenced_code_in_its_language() {
    let source = "# Title\n\nSome *emphasis*, **strong**, `inline code` and a \
        [link](https://example.com).\n\n```rust\nfn main() {}\n```\n\n\
        ```python\ndef greet(name):\n    return \"hi\"\n```\n\n\
        > quoted `code` here\n";
    let rope = Rope::from_str(source);
    let syntax = Syntax::new(Language::Markdown, &rope);
    let at = |needle: &str| scope_at_nth(&syntax, &rope, needle, 0);
    assert_eq!(at("Title"), Some("markup.heading"));
    assert_eq!(at("emphasis"), Some("markup.italic"));
    assert_eq!(at("strong"), Some("markup.bold"));
    assert_eq!(at("inline code"), Some("markup.raw"));
    assert_eq!(at("link"), Some("markup.link.text"));
    assert_eq!(at("https://example.com"), Some("markup.link.url"));
    // The fences' code in their own languages' colors.
    assert_eq!(at("fn main"), Some("keyword"));
    assert_eq!(at("main()"), Some("function"));
    assert_eq!(at("def"), Some("keyword"));
    assert_eq!(at("greet"), Some("function"));
    assert_eq!(at("\"hi\""), Some("string"));
    // Inline code inside a block quote (the `> ` is left out of the inline parse).
    assert_eq!(at("code` here"), Some("markup.raw"));
    // Plain text stays plain.
    assert_eq!(at("Some"), None);
}

#[test]
fn markdown_fence_colors_hold_when_only_part_of_the_fence_is_on_screen() {
    let mut source = String::from("Intro\n\n```rust\n");
    for n in 0..200 {
        source.push_str(&format!("let x{n} = \"s\";\n"));
    }
    source.push_str("```\n");
    let rope = Rope::from_str(&source);
    let syntax = Syntax::new(Language::Markdown, &rope);
    let line = rope.line_to_byte(150);
    let highlights = syntax.highlights(&rope, line..rope.line_to_byte(160));
    assert_eq!(
        highlights.scope_at(line),
        Some("keyword"),
        "`let` on line 151"
    );
    assert_eq!(
        highlights.scope_at(line + 11),
        Some("string"),
        "`\"s\"` on line 151"
    );
}

#[test]
fn python_colors_definitions_calls_builtins_and_self() {
    let source = "class Greeter:\n    def greet(self, name):\n        print(len(name))\n\n\
        Greeter().greet(\"x\")\nMAX = 3\n";
    let rope = Rope::from_str(source);
    let syntax = Syntax::new(Language::Python, &rope);
    let at = |needle: &str, nth: usize| scope_at_nth(&syntax, &rope, needle, nth);
    assert_eq!(
        at("Greeter", 0),
        Some("type"),
        "class name at its definition"
    );
    assert_eq!(
        at("greet", 0),
        Some("function.method"),
        "method at its definition"
    );
    assert_eq!(
        at("greet", 1),
        Some("function.method"),
        "method at its call"
    );
    assert_eq!(at("self", 0), Some("variable.builtin"));
    assert_eq!(at("name", 0), Some("variable.parameter"));
    assert_eq!(at("print", 0), Some("function.builtin"));
    assert_eq!(at("len", 0), Some("function.builtin"));
    assert_eq!(at("Greeter", 1), Some("constructor"), "class called");
    assert_eq!(at("MAX", 0), Some("constant"));
    assert_eq!(at("def", 0), Some("keyword"));
    assert_eq!(at("\"x\"", 0), Some("string"));
}

#[test]
fn a_plain_python_function_is_a_function_at_definition_and_call() {
    let source = "def add(a, b):\n    return a + b\n\nadd(1, 2)\n";
    let rope = Rope::from_str(source);
    let syntax = Syntax::new(Language::Python, &rope);
    assert_eq!(scope_at_nth(&syntax, &rope, "add", 0), Some("function"));
    assert_eq!(scope_at_nth(&syntax, &rope, "add", 1), Some("function"));
}

#[test]
fn fence_info_strings_name_their_languages() {
    for (info, language) in [
        ("rust", Language::Rust),
        ("python", Language::Python),
        ("py", Language::Python),
        ("toml", Language::Toml),
        ("json", Language::Json),
        ("bash", Language::Shell),
        ("sh", Language::Shell),
        ("js", Language::JavaScript),
        ("javascript", Language::JavaScript),
        ("ts", Language::TypeScript),
        ("typescript", Language::TypeScript),
        ("go", Language::Go),
        ("c", Language::C),
        ("Rust ignore", Language::Rust),
    ] {
        assert_eq!(Language::from_fence(info), Some(language), "{info}");
    }
    assert_eq!(Language::from_fence("text"), None);
}

#[test]
fn every_language_query_compiles_and_colors_a_sample() {
    let samples = [
        (Language::Rust, "fn main() { let x = \"hi\"; }", "fn"),
        (Language::Python, "def f():\n    return 'hi'\n", "def"),
        (
            Language::JavaScript,
            "function f() { return 'hi'; }",
            "function",
        ),
        (Language::TypeScript, "let x: number = 1;", "let"),
        (Language::Tsx, "const a = <div/>;", "const"),
        (Language::Go, "package main\nfunc main() {}\n", "func"),
        (Language::C, "int main(void) { return 0; }", "return"),
        (Language::Json, "{\"a\": \"b\"}", "\"b\""),
        (Language::Toml, "[table]\nkey = \"v\"\n", "\"v\""),
        (Language::Markdown, "# Title\n\ntext\n", "#"),
        (Language::Shell, "echo \"hi\" # note\n", "# note"),
    ];
    for (language, source, needle) in samples {
        let rope = Rope::from_str(source);
        let syntax = Syntax::new(language, &rope);
        assert!(syntax.is_enabled(), "{language:?}");
        assert!(
            capture_name_at(&syntax, &rope, needle).is_some(),
            "{language:?}: {needle:?} has no color"
        );
    }
}

#[test]
fn incremental_edits_keep_the_tree_in_step_with_the_text() {
    let before = Rope::from_str("fn main() {\n    let s = 1;\n}\n");
    let mut syntax = Syntax::new(Language::Rust, &before);
    assert_eq!(
        capture_name_at(&syntax, &before, "1"),
        Some("constant.builtin")
    );
    // Replace `1` by a string containing multibyte chars, then check both the string
    // and text after it are colored from the new tree.
    let at = before.to_string().find('1').unwrap();
    let at = before.byte_to_char(at);
    let operation = Operation::replace(before.len_chars(), at..at + 1, "\"größe\"").unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    syntax.update(&before, &operation, &after);
    assert_eq!(capture_name_at(&syntax, &after, "größe"), Some("string"));
    assert_eq!(syntax.tree.as_ref().unwrap().root_node().to_sexp(), {
        let mut fresh = Parser::new();
        fresh.set_language(&Language::Rust.grammar()).unwrap();
        fresh
            .parse(after.to_string(), None)
            .unwrap()
            .root_node()
            .to_sexp()
    });
}

#[test]
fn large_documents_keep_colors_on_their_text_until_the_deferred_reparse() {
    let before = Rope::from_str("fn main() {\n    let s = \"text\";\n}\n");
    let mut syntax = Syntax::new(Language::Rust, &before);
    syntax.set_immediate_reparse_limit(0);
    let operation = Operation::insert(before.len_chars(), 0, "// note\n").unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    syntax.update(&before, &operation, &after);
    assert!(syntax.needs_reparse());
    // The old tree was shifted: the string is still colored as a string.
    assert_eq!(capture_name_at(&syntax, &after, "\"text\""), Some("string"));
    syntax.reparse_now(&after);
    assert!(!syntax.needs_reparse());
    assert_eq!(capture_name_at(&syntax, &after, "// note"), Some("comment"));
}

#[test]
fn only_the_requested_range_is_colored() {
    let rope = Rope::from_str("fn a() {}\nfn b() {}\n");
    let syntax = Syntax::new(Language::Rust, &rope);
    let highlights = syntax.highlights(&rope, 10..20);
    assert_eq!(highlights.capture_at(0), None);
    assert!(highlights.capture_at(10).is_some());
}

#[test]
fn a_parse_past_the_timeout_switches_highlighting_off_with_a_notice() {
    let source = "fn f() { let x = [1, 2, 3]; }\n".repeat(20_000);
    let rope = Rope::from_str(&source);
    let syntax = Syntax::with_timeout(Language::Rust, &rope, Duration::from_micros(1));
    assert!(!syntax.is_enabled());
    let notice = syntax.notice().unwrap();
    assert!(notice.contains("longer than"), "{notice}");
    assert!(syntax.highlights(&rope, 0..100).capture_at(0).is_none());
}

#[test]
fn languages_are_recognized_by_file_name() {
    assert_eq!(Language::from_path("src/main.rs"), Some(Language::Rust));
    assert_eq!(Language::from_path("a/b.TSX"), Some(Language::Tsx));
    assert_eq!(Language::from_path("Cargo.lock"), Some(Language::Toml));
    assert_eq!(Language::from_path("README"), None);
}
