//! Key-sequence tests: a document with its selection written inline, keys pressed through
//! the real keymaps, and the document and selection expected afterwards (the markup is
//! described in tests/key_markup).

mod key_markup;

use cotype::text::Operation;
use cotype::tui::editor::EditorInput;
use key_markup::*;
#[test]
fn markup_round_trips() {
    for markup in ["a#[bc|]#d", "a#[|bc]#d", "#[|]#", "x\n#[|]#"] {
        let (rope, selection) = parse(markup);
        assert_eq!(render(&rope, selection), markup);
    }
}

#[test]
fn typing_and_deleting() {
    check("default", "#[|]#", "hello", "hello#[|]#");
    check("default", "ab#[|]#cd", "<backspace><delete>", "a#[|]#d");
    check("default", "a#[bc|]#d", "X", "aX#[|]#d");
    check("default", "foo bar#[|]#", "<ctrl-backspace>", "foo #[|]#");
}

#[test]
fn newline_keeps_indentation_and_indents_after_an_opening_bracket() {
    check(
        "default",
        "    let x = 1;#[|]#",
        "<enter>",
        "    let x = 1;\n    #[|]#",
    );
    check("default", "fn f() {#[|]#", "<enter>", "fn f() {\n    #[|]#");
    check(
        "default",
        "\tif x {#[|]#\n\tfoo\n",
        "<enter>",
        "\tif x {\n\t\t#[|]#\n\tfoo\n",
    );
}

/// In a CRLF file every line break the editor puts in is CRLF: enter, vim's `o` and `O`,
/// pasted text (terminals send `\r`, other files `\n`) and pasted lines, so the file never
/// becomes mixed. A file of `\n` lines keeps `\n`.
#[test]
fn new_line_breaks_follow_the_documents_line_ending() {
    check(
        "default",
        "fn f() {#[|]#\r\n}\r\n",
        "<enter>x",
        "fn f() {\r\n    x#[|]#\r\n}\r\n",
    );
    check(
        "default",
        "a#[|]#\r\nb",
        "<enter><enter>",
        "a\r\n\r\n#[|]#\r\nb",
    );
    check("vim", "#[|]#a\r\nb", "oc<esc>Od", "a\r\nd#[|]#\r\nc\r\nb");
    check(
        "default",
        "one\r\ntw#[|]#o",
        "<ctrl-c><ctrl-home><ctrl-v>",
        "two\r\n#[|]#one\r\ntwo",
    );
    check("vim", "one\r\n#[|]#two", "yyp", "one\r\ntwo\r\n#[|]#two");
    check("vim", "#[|]#one\r\ntwo", "yyGp", "one\r\ntwo\r\n#[|]#one");
    let mut harness = Harness::new("default", "x#[|]#\r\n");
    harness.input(EditorInput::Paste("line one\rline two\nthree".into()));
    assert_eq!(harness.state(), "xline one\r\nline two\r\nthree#[|]#\r\n");
    check("default", "a#[|]#\nb", "<enter>", "a\n#[|]#\nb");
}

#[test]
fn tab_indents_and_dedent_removes_one_level() {
    check("default", "#[|]#x", "<tab>", "    #[|]#x");
    check("default", "#[a\nb\n|]#c", "<tab>", "#[    a\n    b\n|]#c");
    check("default", "    a#[|]#", "<shift-tab>", "a#[|]#");
    check("default", "      a#[|]#", "<backspace>", "      #[|]#");
    check("default", "      #[|]#", "<backspace>", "    #[|]#");
}

#[test]
fn motions_step_over_whole_graphemes() {
    // A family emoji (ZWJ sequence) and an e with a combining accent are one step each.
    check(
        "default",
        "#[|]#👨‍👩‍👧e\u{301}x",
        "<right><right>",
        "👨‍👩‍👧e\u{301}#[|]#x",
    );
    check("default", "a👨‍👩‍👧#[|]#", "<left>", "a#[|]#👨‍👩‍👧");
    check("default", "a\r\n#[|]#b", "<left>", "a#[|]#\r\nb");
}

#[test]
fn vertical_motion_keeps_the_display_column_across_wide_and_tab_characters() {
    // The cursor sits at display column 4; CJK characters are two columns wide.
    check(
        "default",
        "abcd#[|]#e\n漢字漢字\nab\tcd",
        "<down>",
        "abcde\n漢字#[|]#漢字\nab\tcd",
    );
    check(
        "default",
        "abcd#[|]#e\n漢字漢字\nab\tcd",
        "<down><down>",
        "abcde\n漢字漢字\nab\t#[|]#cd",
    );
    // A short line in between does not lose the column.
    check(
        "default",
        "abcdef#[|]#\nx\nabcdefgh",
        "<down><down>",
        "abcdef\nx\nabcdef#[|]#gh",
    );
}

#[test]
fn word_line_and_file_motions() {
    check(
        "default",
        "#[|]#foo bar.baz",
        "<ctrl-right>",
        "foo #[|]#bar.baz",
    );
    check(
        "default",
        "#[|]#foo bar.baz",
        "<ctrl-right><ctrl-right>",
        "foo bar#[|]#.baz",
    );
    check("default", "foo bar#[|]#", "<ctrl-left>", "foo #[|]#bar");
    check("default", "  ab#[|]#c", "<home>", "#[|]#  abc");
    check("default", "a#[|]#bc\nd", "<end>", "abc#[|]#\nd");
    check("default", "a\nb#[|]#\nc", "<ctrl-end>", "a\nb\nc#[|]#");
    check("default", "a\nb#[|]#\nc", "<ctrl-home>", "#[|]#a\nb\nc");
}

#[test]
fn shift_selects_and_typing_replaces_the_selection() {
    check(
        "default",
        "#[|]#hello",
        "<shift-right><shift-right>",
        "#[he|]#llo",
    );
    check(
        "default",
        "hel#[|]#lo",
        "<shift-left><shift-left>",
        "h#[|el]#lo",
    );
    check(
        "default",
        "#[|]#one two",
        "<ctrl-shift-right>X",
        "X#[|]#two",
    );
    check("default", "a#[bc|]#d", "<left>", "a#[|]#bcd");
}

#[test]
fn undo_and_redo_group_typing() {
    check("default", "#[|]#", "abc<ctrl-z>", "#[|]#");
    check("default", "#[|]#", "abc<ctrl-z><ctrl-y>", "abc#[|]#");
    check("default", "#[|]#", "ab<enter>cd<ctrl-z>", "ab\n#[|]#");
}

/// vim's `o`/`O`, what is typed on the new line and <esc> are one change: one `u` takes
/// the whole line back, as in vim (it used to leave the new, empty line behind).
#[test]
fn vim_open_line_and_what_is_typed_on_it_are_one_undo_step() {
    for (before, keys, after) in [
        ("#[|]#one\ntwo", "onew<esc>u", "one\ntwo"),
        ("one\n#[|]#two", "Onew<esc>u", "one\ntwo"),
        ("#[|]#one", "oa<esc>ob<esc>u", "one\na"),
    ] {
        let mut harness = Harness::new("vim", before);
        harness.press(keys);
        assert_eq!(harness.rope.to_string(), after, "{keys} on {before:?}");
    }
}

#[test]
fn undo_never_removes_someone_elses_text() {
    let mut harness = Harness::new("default", "#[|]#");
    harness.press("mine");
    // Bob types in front of and after my word while I was typing.
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 0, "bob ").unwrap());
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, len, " too").unwrap());
    assert_eq!(harness.state(), "bob mine#[|]# too");
    harness.press("<ctrl-z>");
    assert_eq!(harness.rope.to_string(), "bob  too");
    harness.press("<ctrl-y>");
    assert_eq!(harness.rope.to_string(), "bob mine too");
}

#[test]
fn remote_edits_keep_my_cursor_on_the_same_text() {
    let mut harness = Harness::new("default", "hello #[|]#world");
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 0, ">> ").unwrap());
    assert_eq!(harness.state(), ">> hello #[|]#world");
    // Text inserted exactly at my cursor goes after it.
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 9, "big ").unwrap());
    assert_eq!(harness.state(), ">> hello #[|]#big world");
    // My position deleted by someone else collapses to the deletion point.
    let len = harness.rope.len_chars();
    harness.remote(Operation::delete(len, 3..13).unwrap());
    assert_eq!(harness.state(), ">> #[|]#world");
}

#[test]
fn cut_copy_and_paste() {
    let mut harness = Harness::new("default", "#[ab|]#cd");
    harness.press("<ctrl-x><end><ctrl-v>");
    assert_eq!(harness.state(), "cdab#[|]#");
    assert_eq!(harness.copied, vec!["ab".to_string()]);
    // With nothing selected, copy takes the whole line and paste puts it above.
    check(
        "default",
        "one\ntw#[|]#o",
        "<ctrl-c><ctrl-home><ctrl-v>",
        "two\n#[|]#one\ntwo",
    );
}

#[test]
fn bracketed_paste_is_one_edit_and_one_undo_step() {
    let mut harness = Harness::new("default", "x#[|]#");
    harness.input(EditorInput::Paste("line one\r\nline two".into()));
    assert_eq!(harness.state(), "xline one\nline two#[|]#");
    harness.press("<ctrl-z>");
    assert_eq!(harness.state(), "x#[|]#");
}

#[test]
fn find_selects_the_next_match_and_wraps() {
    let mut harness = Harness::new("default", "#[|]#foo Foo foo");
    harness.input(EditorInput::Find {
        query: "foo".into(),
        forward: true,
    });
    assert_eq!(harness.state(), "#[foo|]# Foo foo");
    harness.press("<F3>");
    assert_eq!(harness.state(), "foo #[Foo|]# foo");
    harness.press("<F3><F3>");
    assert_eq!(harness.state(), "#[foo|]# Foo foo");
    // An uppercase letter makes the search case-sensitive.
    harness.input(EditorInput::Find {
        query: "Foo".into(),
        forward: true,
    });
    assert_eq!(harness.state(), "foo #[Foo|]# foo");
}

#[test]
fn vim_normal_insert_and_visual_modes() {
    check("vim", "#[|]#abc", "lix<esc>", "a#[|]#xbc");
    check("vim", "#[|]#abc", "Ad<esc>", "abc#[|]#d");
    check("vim", "#[|]#one two", "wdw", "one#[|]# ");
    check("vim", "#[|]#one\ntwo\nthree", "jdd", "one\n#[|]#three");
    check("vim", "#[|]#one\ntwo", "ddp", "two\n#[|]#one");
    check("vim", "#[|]#abcd", "vlld", "#[|]#d");
    check("vim", "  #[|]#ab", "oxy<esc>", "  ab\n  x#[|]#y");
    check("vim", "#[|]#a\nb\nc", "Ggg", "#[|]#a\nb\nc");
    check("vim", "#[|]#abc", "xu", "#[|]#abc");
}

#[test]
fn vim_counts_repeat_motions() {
    check("vim", "#[|]#a\nb\nc\nd\ne", "3j", "a\nb\nc\n#[|]#d\ne");
    check("vim", "a\nb\nc\n#[|]#d", "2k", "a\n#[|]#b\nc\nd");
    check("vim", "#[|]#abcdefgh", "5l", "abcde#[|]#fgh");
    check(
        "vim",
        "#[|]#one two three four",
        "2w",
        "one two #[|]#three four",
    );
    check("vim", "#[|]#one two three", "2e", "one tw#[|]#o three");
    check("vim", "one two three#[|]#", "3b", "#[|]#one two three");
    // `4G` and `4gg` go to line 4 (its first non-blank); `G` alone to the end.
    let five = "#[|]#1\n2\n3\n  4\n5";
    check("vim", five, "4G", "1\n2\n3\n  #[|]#4\n5");
    check("vim", five, "4gg", "1\n2\n3\n  #[|]#4\n5");
    check("vim", five, "G", "1\n2\n3\n  4\n#[|]#5");
    check("vim", "#[|]#a\n  b\n", "G", "a\n  #[|]#b\n");
    check("vim", five, "99G", "1\n2\n3\n  4\n#[|]#5");
    // `0` alone is line start; inside a count it is a digit.
    check("vim", "ab#[|]#c", "0", "#[|]#abc");
    let twelve: String = (1..=12).map(|n| format!("{n}\n")).collect();
    let mut harness = Harness::new("vim", &format!("#[|]#{twelve}"));
    harness.press("10j");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (10, 0));
    check("vim", "a#[|]#b\ncd\nef", "2$", "ab\nc#[|]#d\nef");
}

#[test]
fn vim_x_and_capital_x_take_counts_within_the_line() {
    check("vim", "a#[|]#bcdef", "2x", "a#[|]#def");
    check("vim", "a#[|]#bc\nd", "5x", "#[|]#a\nd");
    check("vim", "abcd#[|]#e", "3X", "a#[|]#e");
    check("vim", "ab\ncd#[|]#e", "9X", "ab\n#[|]#e");
    check("vim", "a#[|]#bcdef", "3xu", "a#[|]#bcdef");
}

#[test]
fn vim_delete_with_motions() {
    check("vim", "#[|]#one two three", "dw", "#[|]#two three");
    check("vim", "#[|]#one two three", "de", "#[|]# two three");
    check("vim", "one two#[|]# three", "db", "one #[|]# three");
    check("vim", "one #[|]#two three", "d$", "one#[|]# ");
    check("vim", "one #[|]#two three", "D", "one#[|]# ");
    check("vim", "one #[|]#two three", "d0", "#[|]#two three");
    check("vim", "  one #[|]#two", "d^", "  #[|]#two");
    // `dw` on the last word of a line stops at the line's end.
    check("vim", "one #[|]#two\nthree", "dw", "one#[|]# \nthree");
    // Counts before and after the operator.
    check("vim", "#[|]#a b c d", "2dw", "#[|]#c d");
    check("vim", "#[|]#a b c d", "d3w", "#[|]#d");
    check("vim", "#[|]#a b c d e f g", "2d3w", "#[|]#g");
    check("vim", "a#[|]#bcd", "dl", "a#[|]#cd");
    check("vim", "ab#[|]#cd", "2dh", "#[|]#cd");
}

#[test]
fn vim_delete_whole_lines() {
    let doc = "one\n  #[|]#two\nthree\nfour\n";
    check("vim", doc, "dd", "one\n#[|]#three\nfour\n");
    check("vim", doc, "2dd", "one\n#[|]#four\n");
    check("vim", doc, "d2d", "one\n#[|]#four\n");
    check("vim", doc, "dj", "one\n#[|]#four\n");
    check("vim", doc, "dk", "#[|]#three\nfour\n");
    check("vim", doc, "dG", "#[|]#one\n");
    check("vim", doc, "dgg", "#[|]#three\nfour\n");
    check("vim", "a\nb\n#[|]#c\nd\ne", "d4G", "a\nb\n#[|]#e");
    // The last line goes with the break before it; the cursor lands on the line above.
    check("vim", "  a\n#[|]#b", "dd", "  #[|]#a");
    // `dj` on the last line has no line to take.
    check("vim", "a\n#[|]#b", "dj", "a\n#[|]#b");
}

#[test]
fn vim_bracket_and_quote_text_objects() {
    check("vim", "foo(a, #[|]#b)", "di(", "foo(#[|]#)");
    check("vim", "foo(a, #[|]#b)", "dib", "foo(#[|]#)");
    check("vim", "foo(a, #[|]#b)", "da)", "fo#[|]#o");
    // On a bracket is inside its pair.
    check("vim", "foo#[|]#(a)", "di(", "foo(#[|]#)");
    check("vim", "foo(a#[|]#)", "di(", "foo(#[|]#)");
    // Nested pairs: the innermost, or a count's worth out.
    check("vim", "f(a, g(#[|]#b), c)", "di(", "f(a, g(#[|]#), c)");
    check("vim", "f(a, g(#[|]#b), c)", "d2i(", "f(#[|]#)");
    check("vim", "f(a, g(b), #[|]#c)", "di(", "f(#[|]#)");
    // A block over lines: the braces keep their lines.
    check(
        "vim",
        "fn f() {\n    a;\n   #[|]# b;\n}\n",
        "di{",
        "fn f() {\n#[|]#}\n",
    );
    check("vim", "x = {#[|]# a }", "ci{X<esc>", "x = {#[|]#X}");
    check("vim", "[1, #[|]#2]", "di[", "[#[|]#]");
    check("vim", "v = [1, #[|]#2];", "da]", "v = #[|]#;");
    // Quotes: inside, around (with the blank after), the next pair after the cursor, an
    // escaped quote inside.
    check("vim", "say \"hel#[|]#lo\" now", "di\"", "say \"#[|]#\" now");
    check("vim", "say \"hel#[|]#lo\" now", "da\"", "say #[|]#now");
    check("vim", "#[|]#say \"hi\"", "ci\"yo<esc>", "say \"y#[|]#o\"");
    check("vim", "s = \"a\\\"#[|]#b\";", "di\"", "s = \"#[|]#\";");
    check("vim", "c = 'x#[|]#y'", "di'", "c = '#[|]#'");
    // No pair around the cursor: nothing happens.
    check("vim", "a#[|]#b", "di(", "a#[|]#b");
    check("vim", "a#[|]#b", "di\"", "a#[|]#b");
}

#[test]
fn vim_word_text_objects() {
    check("vim", "one tw#[|]#o three", "diw", "one #[|]# three");
    check("vim", "one tw#[|]#o three", "daw", "one #[|]#three");
    check("vim", "one two thr#[|]#ee", "daw", "one tw#[|]#o");
    check("vim", "foo(ba#[|]#r)", "diw", "foo(#[|]#)");
    check("vim", "#[|]#a b c d", "d2aw", "#[|]#c d");
    check("vim", "one tw#[|]#o three", "ciwX<esc>", "one #[|]#X three");
    let mut harness = Harness::new("vim", "one tw#[|]#o three");
    harness.press("yiw");
    assert_eq!(harness.state(), "one #[|]#two three");
    assert_eq!(harness.copied, vec!["two".to_string()]);
    harness.press("$p");
    assert_eq!(harness.rope.to_string(), "one two threetwo");
}

#[test]
fn vim_change_and_yank() {
    // `cw` on a word is `ce`: the space after it stays.
    check("vim", "#[|]#one two", "cwX<esc>", "#[|]#X two");
    check("vim", "#[|]#a b c", "c2wX<esc>", "#[|]#X c");
    check("vim", "one #[|]#two three", "CX<esc>", "one #[|]#X");
    // `cc` and `S` keep the indentation and leave one line to type on.
    check("vim", "a\n    #[|]#bc\nd", "ccX<esc>", "a\n    #[|]#X\nd");
    check("vim", "a\n    #[|]#bc\nd", "SX<esc>", "a\n    #[|]#X\nd");
    check("vim", "#[|]#a\nb\nc", "cjX<esc>", "#[|]#X\nc");
    let mut harness = Harness::new("vim", "#[|]#one two");
    harness.press("yw");
    assert_eq!(harness.copied, vec!["one ".to_string()]);
    harness.press("$p");
    assert_eq!(harness.rope.to_string(), "one twoone ");
    // `yy` copies the line, which pastes below as a line.
    let mut harness = Harness::new("vim", "#[|]#one\ntwo");
    harness.press("yyjp");
    assert_eq!(harness.state(), "one\ntwo\n#[|]#one");
    assert_eq!(harness.copied, vec!["one\n".to_string()]);
    // What `dw` deletes is what `p` puts back: after the character under the cursor, as
    // vim's `p` does, ending on the last character put in.
    check("vim", "#[|]#one two", "dwp", "tone#[|]# wo");
}

#[test]
fn vim_operators_undo_in_one_step() {
    check("vim", "#[|]#a b c d", "2dwu", "#[|]#a b c d");
    check(
        "vim",
        "one\n#[|]#two\nthree\nfour\nfive",
        "3ddu",
        "one\n#[|]#two\nthree\nfour\nfive",
    );
    // A change and what was typed after it go together.
    check(
        "vim",
        "one tw#[|]#o three",
        "ciwsix<esc>u",
        "one #[|]#two three",
    );
    check("vim", "#[|]#one two", "cwuno<esc>u", "#[|]#one two");
    // ... and redo puts both back.
    check("vim", "#[|]#one two", "cwuno<esc>u<ctrl-r>", "uno#[|]# two");
}

#[test]
fn vim_escape_cancels_a_pending_count_or_operator() {
    check("vim", "#[|]#a\nb\nc", "3<esc>j", "a\n#[|]#b\nc");
    check("vim", "#[|]#one two", "d<esc>w", "one #[|]#two");
    check("vim", "#[|]#one two", "2d<esc>x", "#[|]#ne two");
    // A key that is no motion after an operator does nothing.
    check("vim", "#[|]#one two", "dpw", "one #[|]#two");
}

#[test]
fn vim_dot_repeats_the_last_delete_or_change() {
    check("vim", "#[|]#a b c d", "dw.", "#[|]#c d");
    check("vim", "#[|]#a b c d e", "2dw.", "#[|]#e");
    check("vim", "#[|]#abcdef", "x.", "#[|]#cdef");
    check("vim", "#[|]#abcdefg", "2x.", "#[|]#efg");
    check("vim", "#[|]#1\n2\n3\n4", "dd.", "#[|]#3\n4");
    check("vim", "#[|]#one two three", "cwX<esc>w.", "X #[|]#X three");
    check(
        "vim",
        "a #[|]#b c",
        "ciwlong<enter>line<esc>w.",
        "a long\nline long\nlin#[|]#e",
    );
    // One undo step takes back the whole repeat.
    check(
        "vim",
        "#[|]#one two three",
        "cwX<esc>w.u",
        "X #[|]#two three",
    );
    // Another change in between is the last change; `.` does not reach past it.
    check("vim", "#[|]#abc", "xAd<esc>.", "bc#[|]#d");
    // Undo does not change what `.` repeats.
    check("vim", "#[|]#abcd", "xu.", "#[|]#bcd");
}

#[test]
fn vim_x_keeps_the_character_and_counts_repeat_paste_and_undo() {
    // `xp` swaps two characters: `x` keeps what it deleted for `p`.
    check("vim", "#[|]#abc", "xp", "b#[|]#ac");
    check("vim", "#[|]#abcdef", "3x$p", "defab#[|]#c");
    // `P` puts before the cursor; lines above.
    check("vim", "#[|]#abc", "xP", "#[|]#abc");
    check("vim", "a#[|]#bc", "ylP", "a#[|]#bbc");
    check("vim", "one\n#[|]#two", "yykP", "#[|]#two\none\ntwo");
    // `3p` pastes three times, as one edit (one `u` takes it back).
    check("vim", "#[|]#ab", "yl3p", "aaa#[|]#ab");
    check("vim", "#[|]#ab", "yl3pu", "a#[|]#b");
    // `2u` undoes two changes; `2<c-r>` redoes them.
    let mut harness = Harness::new("vim", "#[|]#one two three");
    harness.press("dwdwdw");
    assert_eq!(harness.rope.to_string(), "");
    harness.press("2u");
    assert_eq!(harness.rope.to_string(), "two three");
    harness.press("u");
    assert_eq!(harness.rope.to_string(), "one two three");
    harness.press("3<c-r>");
    assert_eq!(harness.rope.to_string(), "");
    // More than there is: all of it, and a message for the rest.
    harness.press("9u");
    assert_eq!(harness.rope.to_string(), "one two three");
}

/// In normal mode the cursor is on a character, never past a line's last one: `$x`
/// deletes that character, not the line break, and `$P`, `u` and `x` at the end of a line
/// leave the cursor on text (issue 11, item 14).
#[test]
fn vim_dollar_and_edits_keep_the_cursor_on_the_last_character() {
    check("vim", "#[|]#abc\nde", "$", "ab#[|]#c\nde");
    check("vim", "#[|]#abc\nde", "$x", "a#[|]#b\nde");
    check("vim", "#[|]#abc\nde", "$xx", "#[|]#a\nde");
    check("vim", "#[|]#ab\ncd", "yl$P", "a#[|]#ab\ncd");
    check("vim", "#[|]#abc\nd", "$xu", "ab#[|]#c\nd");
    check("vim", "one #[|]#two", "d$", "one#[|]# ");
    check("vim", "a#[|]#b\ncd\nef", "2$", "ab\nc#[|]#d\nef");
    // An empty line has nowhere else to be.
    check("vim", "a\n#[|]#\nb", "$", "a\n#[|]#\nb");
}

/// `/pat` enter lands on the first match after the cursor, `n` and `N` on the next and
/// previous match's first character, with nothing selected: `x` deletes one character.
#[test]
fn vim_search_lands_on_match_starts_without_a_selection() {
    let mut harness = Harness::new("vim", "#[|]#foo x foo y foo");
    harness.input(EditorInput::Find {
        query: "foo".into(),
        forward: true,
    });
    assert_eq!(harness.state(), "foo x #[|]#foo y foo");
    harness.press("n");
    assert_eq!(harness.state(), "foo x foo y #[|]#foo");
    harness.press("N");
    assert_eq!(harness.state(), "foo x #[|]#foo y foo");
    harness.press("x");
    assert_eq!(harness.state(), "foo x #[|]#oo y foo");
    // `*` and `#`: the word under the cursor.
    check("vim", "#[|]#ab cd ab cd", "*", "ab cd #[|]#ab cd");
    check("vim", "ab cd ab #[|]#cd", "#", "ab #[|]#cd ab cd");
}

/// Keys the keymap does not bind do nothing, and vim's commands that take a key after them
/// (`m`, `q`, `"`, `@`, `'`, `` ` ``) take it: `ma` sets no mark and does not append.
#[test]
fn vim_unbound_keys_and_their_arguments_are_ignored() {
    let mut harness = Harness::new("vim", "#[|]#abc");
    harness.press("ma");
    assert_eq!(harness.editor.mode, cotype::tui::keymap::Mode::Normal);
    harness.press("qx\"a'b`c@dQ");
    assert_eq!(harness.state(), "#[|]#abc");
    assert_eq!(harness.editor.mode, cotype::tui::keymap::Mode::Normal);
    // After them, keys mean what they always do.
    harness.press("x");
    assert_eq!(harness.state(), "#[|]#bc");
}

/// `>>` and `<<` shift the line (not at the cursor) and are one undo step each; a count
/// takes that many lines.
#[test]
fn vim_shift_lines_one_undo_step_each() {
    check("vim", "a#[|]#b\nc", ">>", "    #[|]#ab\nc");
    check("vim", "a#[|]#b\nc", ">>u", "#[|]#ab\nc");
    check("vim", "a#[|]#b\nc", ">>>>u", "#[|]#    ab\nc");
    check("vim", "      a#[|]#b", "<lt><lt>", "  #[|]#ab");
    check("vim", "#[|]#a\nb\nc", "2>>", "    #[|]#a\n    b\nc");
}

/// Visual `e` goes to the end of the word; visual `c` changes the selection (one undo
/// step with what is typed).
#[test]
fn vim_visual_e_and_c() {
    check("vim", "#[|]#one two", "ve", "#[one|]# two");
    check("vim", "#[|]#one two", "vee", "#[one two|]#");
    check("vim", "#[|]#one two", "vecX<esc>", "#[|]#X two");
    check("vim", "#[|]#one two", "vecX<esc>u", "#[|]#one two");
    check("vim", "#[|]#one two", "vesY<esc>", "#[|]#Y two");
}

#[test]
fn vim_find_char_on_the_line_with_repeat() {
    let line = "#[|]#a,b,c;d";
    check("vim", line, "f,", "a#[|]#,b,c;d");
    check("vim", line, "f,;", "a,b#[|]#,c;d");
    check("vim", line, "f,;,", "a#[|]#,b,c;d");
    check("vim", line, "2f,", "a,b#[|]#,c;d");
    check("vim", line, "t,", "#[|]#a,b,c;d");
    check("vim", line, "t,;", "a,#[|]#b,c;d");
    check("vim", "a,b,c#[|]#;d", "F,", "a,b#[|]#,c;d");
    check("vim", "a,b,c#[|]#;d", "T,", "a,b,#[|]#c;d");
    // No such character: nowhere to go.
    check("vim", line, "fz", line);
    // With operators: `f`/`t` take the character they land on / stop before it.
    check("vim", line, "df,", "#[|]#b,c;d");
    check("vim", line, "dt;", "#[|]#;d");
    check("vim", line, "ct;X<esc>", "#[|]#X;d");
    check("vim", "a,b,c#[|]#;d", "dF,", "a,b#[|]#;d");
    // `f` does not leave the line.
    check("vim", "#[|]#ab\n,", "f,", "#[|]#ab\n,");
}

#[test]
fn vim_bracket_match_join_replace_and_case() {
    check("vim", "#[|]#f(a[1], b) x", "%", "f(a[1], b#[|]#) x");
    check("vim", "#[|]#f(a[1], b) x", "%%", "f#[|]#(a[1], b) x");
    check(
        "vim",
        "fn f() {\n  #[|]#x\n}",
        "k$%",
        "fn f() {\n  x\n#[|]#}",
    );
    check("vim", "f#[|]#(a, b) x", "d%", "f#[|]# x");
    check(
        "vim",
        "#[|]#one\n    two\nthree",
        "J",
        "one#[|]# two\nthree",
    );
    check(
        "vim",
        "#[|]#one\n    two\nthree",
        "3J",
        "one two#[|]# three",
    );
    check(
        "vim",
        "#[|]#one\n    two\nthree",
        "Ju",
        "on#[|]#e\n    two\nthree",
    );
    check("vim", "#[|]#abc", "rx", "#[|]#xbc");
    check("vim", "#[|]#abc", "3rx", "xx#[|]#x");
    check("vim", "#[|]#abc", "4rx", "#[|]#abc");
    check("vim", "#[|]#aBc", "~", "A#[|]#Bc");
    check("vim", "#[|]#aBc", "3~", "Ab#[|]#C");
    check("vim", "#[|]#aBc", "3~u", "#[|]#aBc");
}

#[test]
fn vim_long_words_and_paragraphs() {
    check("vim", "#[|]#a.b c-d e", "W", "a.b #[|]#c-d e");
    check("vim", "#[|]#a.b c-d e", "2W", "a.b c-d #[|]#e");
    check("vim", "a.b c-d #[|]#e", "B", "a.b #[|]#c-d e");
    check("vim", "#[|]#a.b c-d e", "E", "a.#[|]#b c-d e");
    check("vim", "#[|]#a.b c-d e", "dW", "#[|]#c-d e");
    check("vim", "#[|]#a.b c-d e", "cWX<esc>", "#[|]#X c-d e");
    let text = "#[|]#a\nb\n\nc\nd\n\ne";
    check("vim", text, "}", "a\nb\n#[|]#\nc\nd\n\ne");
    check("vim", text, "}}", "a\nb\n\nc\nd\n#[|]#\ne");
    check("vim", text, "3}", "a\nb\n\nc\nd\n\n#[|]#e");
    check("vim", "a\nb\n\nc\n#[|]#d", "{", "a\nb\n#[|]#\nc\nd");
    check("vim", "a\nb\n\nc\n#[|]#d", "2{", "#[|]#a\nb\n\nc\nd");
    check("vim", text, "d}", "#[|]#\nc\nd\n\ne");
}

#[test]
fn vim_half_pages_center_and_line_counts() {
    // The harness's view is 10 rows: half a page is 5 lines.
    let lines: String = (1..=40).map(|n| format!("{n}\n")).collect();
    let mut harness = Harness::new("vim", &format!("#[|]#{lines}"));
    harness.press("<ctrl-d>");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (5, 0));
    assert!(harness.editor.scroll_line() > 0, "the view scrolled too");
    harness.press("<ctrl-d><ctrl-u>");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (5, 0));
    harness.press("20Gzz");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (19, 0));
    assert_eq!(harness.editor.scroll_line(), 14);
    harness.press("3gg");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (2, 0));
    harness.press("5G");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (4, 0));
    harness.press("50%");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (19, 0));
    harness.press("gg3j2w");
    assert_eq!(harness.editor.cursor_line_col(&harness.rope), (5, 0));
}
