//! Key-sequence tests of the editing comforts every editor has (issue 13, item 8): Enter's
//! indentation, toggling line comments, moving and duplicating lines and jumping to the
//! matching bracket, in both keymaps (the markup is described in tests/key_markup).

mod key_markup;

use cotype::tui::editor::{EditorInput, SaveTidying};
use key_markup::*;

#[test]
fn enter_between_brackets_puts_the_closing_one_on_its_own_line() {
    check(
        "default",
        "fn f() {#[|]#}",
        "<enter>x",
        "fn f() {\n    x#[|]#\n}",
    );
    check(
        "default",
        "    call(#[|]#)",
        "<enter>",
        "    call(\n        #[|]#\n    )",
    );
    check(
        "vim",
        "v = #[|]#[]",
        "a<enter>1<esc>",
        "v = [\n    #[|]#1\n]",
    );
}

#[test]
fn a_colon_indents_only_where_the_language_opens_a_block_with_one() {
    check_file(
        "default",
        "a.py",
        "if x:#[|]#",
        "<enter>",
        "if x:\n    #[|]#",
    );
    check_file(
        "vim",
        "a.py",
        "#[|]#def f():",
        "A<enter>pass<esc>",
        "def f():\n    pas#[|]#s",
    );
    check_file(
        "default",
        "notes.txt",
        "Todo:#[|]#",
        "<enter>",
        "Todo:\n#[|]#",
    );
    check_file(
        "default",
        "main.rs",
        "    'outer:#[|]#",
        "<enter>",
        "    'outer:\n    #[|]#",
    );
}

/// With the file's syntax tree (as the app has it), Enter indents as the language's
/// indents query says, relative to the line it is pressed on.
#[test]
fn enter_follows_the_syntax_tree_in_rust() {
    // Inside an argument list the next line is one level in, after a comma too.
    check_parsed(
        "default",
        "a.rs",
        "fn f() {\n    call(a, #[|]#b);\n}\n",
        "<enter>",
        "fn f() {\n    call(a, \n        #[|]#b);\n}\n",
    );
    check_parsed(
        "default",
        "a.rs",
        "fn f() {\n    let x = foo(a,#[|]#\n        b);\n}\n",
        "<enter>",
        "fn f() {\n    let x = foo(a,\n        #[|]#\n        b);\n}\n",
    );
    // After a block's closing brace, back at the block's level; vim's `o` alike.
    check_parsed(
        "default",
        "a.rs",
        "fn f() {\n    if x {\n        y();\n    }#[|]#\n}\n",
        "<enter>",
        "fn f() {\n    if x {\n        y();\n    }\n    #[|]#\n}\n",
    );
    check_parsed(
        "vim",
        "a.rs",
        "#[|]#fn f() {\n    x();\n}\n",
        "oy();<esc>",
        "fn f() {\n    y()#[|]#;\n    x();\n}\n",
    );
    // Code that does not parse yet: the bracket rule.
    check_parsed(
        "default",
        "a.rs",
        "fn f() {#[|]#",
        "<enter>",
        "fn f() {\n    #[|]#",
    );
}

#[test]
fn enter_follows_the_syntax_tree_in_python() {
    // A statement that leaves the block: the next line is back out of it.
    check_parsed(
        "default",
        "a.py",
        "def f(x):\n    if x:\n        return 1#[|]#\n",
        "<enter>",
        "def f(x):\n    if x:\n        return 1\n    #[|]#\n",
    );
    check_parsed(
        "vim",
        "a.py",
        "def f():\n    #[|]#pass\n",
        "ox<esc>",
        "def f():\n    pass\n#[|]#x\n",
    );
    // Any other statement keeps the block's level.
    check_parsed(
        "default",
        "a.py",
        "def f():\n    x = 1#[|]#\n",
        "<enter>",
        "def f():\n    x = 1\n    #[|]#\n",
    );
    // Inside brackets one level in.
    check_parsed(
        "default",
        "a.py",
        "x = [1, #[|]#2]\n",
        "<enter>",
        "x = [1, \n    #[|]#2]\n",
    );
    // A block's header with nothing under it yet does not parse: the colon rule.
    check_parsed(
        "default",
        "a.py",
        "if x:#[|]#",
        "<enter>",
        "if x:\n    #[|]#",
    );
}

#[test]
fn toggle_comment_comments_and_uncomments_lines_at_their_common_indentation() {
    let rust = "fn f() {\n    a#[|]#();\n}\n";
    let commented = "fn f() {\n    // a#[|]#();\n}\n";
    // ctrl-/ with extended keys; terminals send it as ctrl-_, which crossterm reports as
    // ctrl-_ or (without extended keys) ctrl-7; alt-/ where none is delivered.
    for key in ["<ctrl-/>", "<ctrl-_>", "<ctrl-7>", "<alt-/>"] {
        check_file("default", "a.rs", rust, key, commented);
    }
    check_file("default", "a.rs", commented, "<ctrl-/>", rust);
    check_file("vim", "a.rs", rust, "gcc", commented);
    check_file("vim", "a.rs", commented, "gcc", rust);
    // A selection: every line at the shallowest indentation; blank lines left alone.
    check_file(
        "default",
        "a.py",
        "#[if x:\n\n    y()|]#\n",
        "<ctrl-/>",
        "#[# if x:\n\n#     y()|]#\n",
    );
    check_file(
        "vim",
        "a.py",
        "#[|]#if x:\n    y()\nz\n",
        "Vjgc",
        "#[|]## if x:\n#     y()\nz\n",
    );
    // Mixed lines are all commented first; undo takes the whole toggle back.
    check_file(
        "default",
        "a.sh",
        "#[# a\nb|]#",
        "<ctrl-/>",
        "#[# # a\n# b|]#",
    );
    check_file(
        "default",
        "a.rs",
        rust,
        "<ctrl-/><ctrl-z>",
        "fn f() {\n    #[|]#a();\n}\n",
    );
}

#[test]
fn toggle_comment_in_a_language_without_line_comments_says_so_and_changes_nothing() {
    let mut harness = Harness::new("default", "{\"a\": #[|]#1}");
    harness.editor.set_path("a.json");
    let outcome = harness.editor.handle(
        EditorInput::Action(cotype::tui::keymap::Action::ToggleComment),
        &harness.rope,
    );
    assert!(outcome.operation.is_none());
    assert!(outcome.message.unwrap().contains("no line comments"));
}

#[test]
fn alt_up_and_down_move_lines_and_the_selection_with_them() {
    let doc = "one\ntw#[|]#o\nthree\n";
    check("default", doc, "<alt-up>", "tw#[|]#o\none\nthree\n");
    check("default", doc, "<alt-down>", "one\nthree\ntw#[|]#o\n");
    check(
        "default",
        doc,
        "<alt-down><alt-down>",
        "one\nthree\ntw#[|]#o\n",
    );
    check("default", doc, "<alt-up><alt-up>", "tw#[|]#o\none\nthree\n");
    check("default", doc, "<alt-up><ctrl-z>", "one\ntwo#[|]#\nthree\n");
    // The last line without a line break, and a block of selected lines.
    check("default", "a\n#[|]#b", "<alt-up>", "#[|]#b\na");
    check("default", "#[|]#a\nb", "<alt-down>", "b\n#[|]#a");
    check(
        "default",
        "x\n#[a\nb|]#\ny",
        "<alt-down>",
        "x\ny\n#[a\nb|]#",
    );
    check("vim", doc, "<alt-k>", "tw#[|]#o\none\nthree\n");
    check("vim", doc, "<alt-j>", "one\nthree\ntw#[|]#o\n");
    check("vim", doc, "ia<alt-down>", "one\nthree\ntwa#[|]#o\n");
    check("vim", "#[|]#a\nb\nc\n", "Vj<alt-j>", "c\n#[a\nb\n|]#");
    // CRLF stays CRLF.
    check("default", "a\r\n#[|]#b\r\n", "<alt-up>", "#[|]#b\r\na\r\n");
}

#[test]
fn duplicate_line_copies_the_lines_below_and_moves_onto_the_copy() {
    check(
        "default",
        "a\nb#[|]#c\nd",
        "<alt-shift-down>",
        "a\nbc\nb#[|]#c\nd",
    );
    check(
        "default",
        "a#[|]#",
        "<alt-shift-d><alt-shift-d>",
        "a\na\na#[|]#",
    );
    check(
        "default",
        "#[a\nb|]#\n",
        "<alt-shift-down>",
        "a\nb\n#[a\nb|]#\n",
    );
    check("vim", "a\nb#[|]#c\nd", "<alt-J>", "a\nbc\nb#[|]#c\nd");
    check("vim", "a#[|]#b", "<alt-shift-down>u", "a#[|]#b");
}

#[test]
fn matching_bracket_jump_in_both_keymaps() {
    let doc = "f#[|]#(a, [b], c);";
    check("default", doc, "<ctrl-m>", "f(a, [b], c#[|]#);");
    check("default", doc, "<alt-b>", "f(a, [b], c#[|]#);");
    check("default", doc, "<alt-b><alt-b>", "f#[|]#(a, [b], c);");
    check("vim", doc, "%", "f(a, [b], c#[|]#);");
}

#[test]
fn saving_trims_trailing_blanks_and_adds_the_final_line_break_when_configured() {
    let mut harness = Harness::new("default", "a  \n\tb\t#[|]#\nc");
    harness.input(EditorInput::TidyForSave(SaveTidying {
        trim_trailing_whitespace: true,
        insert_final_newline: true,
    }));
    assert_eq!(harness.state(), "a\n\tb#[|]#\nc\n");
    // One undo step takes the tidying back.
    harness.press("<ctrl-z>");
    assert_eq!(harness.rope.to_string(), "a  \n\tb\t\nc");
    // Neither setting: nothing changes.
    let mut harness = Harness::new("default", "a  #[|]#");
    harness.input(EditorInput::TidyForSave(SaveTidying::default()));
    assert_eq!(harness.state(), "a  #[|]#");
    // A CRLF file gets a CRLF, and a file already ending in one gets none.
    let mut harness = Harness::new("default", "a \r\nb#[|]#");
    harness.input(EditorInput::TidyForSave(SaveTidying {
        trim_trailing_whitespace: false,
        insert_final_newline: true,
    }));
    assert_eq!(harness.state(), "a \r\nb#[|]#\r\n");
    harness.input(EditorInput::TidyForSave(SaveTidying {
        trim_trailing_whitespace: false,
        insert_final_newline: true,
    }));
    assert_eq!(harness.state(), "a \r\nb#[|]#\r\n");
}
