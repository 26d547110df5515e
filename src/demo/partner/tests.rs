//! Tests of the demo partner's script: parsing, its error messages, and that the selects and the
//! typed fix land where SCRIPT.md says.

use super::*;
use crate::demo::project;

fn script() -> Script {
    Script::parse(project::SCRIPT).expect("the bundled script parses")
}

/// The `selects` table of SCRIPT.md: (path, anchor, head, text).
fn table() -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for line in project::SCRIPT.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 4 && cells[1].starts_with("`select ") {
            let step = cells[1].trim_start_matches("`select ");
            let (range, path) = step.split_once("` in ").expect("`select A-B` in PATH");
            rows.push((
                path.to_string(),
                range.to_string(),
                cells[2].trim_matches('`').to_string(),
            ));
        }
    }
    rows
}

#[test]
fn every_select_covers_the_text_the_script_table_names() {
    let script = script();
    let table = table();
    let mut path = None;
    let mut checked = 0;
    for ScriptStep { step, line } in &script.steps {
        match step {
            Step::Open(p) => path = Some(p.clone()),
            Step::Select(anchor, head) => {
                let path = path.as_deref().expect("a select after an open");
                let rope = Rope::from_str(project::text_of(path).expect("a bundled file"));
                let (a, h) = (char_index(&rope, *anchor), char_index(&rope, *head));
                let covered = rope.slice(a.min(h)..a.max(h)).to_string();
                let row = table
                    .iter()
                    .find(|(p, range, _)| p == path && *range == format!("{anchor}-{head}"))
                    .unwrap_or_else(|| panic!("line {line}: no table row for this select"));
                assert_eq!(covered, row.2, "script line {line} in {path}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert_eq!(checked, table.len(), "every table row is a step");
    assert_eq!(checked, 5);
}

/// Typing the script's text over the selection before it gives the fixed line the
/// script promises.
#[test]
fn the_typed_fix_gives_the_promised_line() {
    let steps = script().steps;
    let typed = steps
        .iter()
        .position(|s| matches!(s.step, Step::Type(_)))
        .expect("a type step");
    let Step::Type(text) = &steps[typed].step else {
        unreachable!()
    };
    let Some(Step::Select(anchor, head)) = steps[..typed]
        .iter()
        .rev()
        .map(|s| &s.step)
        .find(|s| matches!(s, Step::Select(..)))
    else {
        panic!("a select before the type step");
    };
    let mut rope = Rope::from_str(project::text_of("src/pager.rs").expect("bundled"));
    let (a, h) = (char_index(&rope, *anchor), char_index(&rope, *head));
    let op = Operation::replace(rope.len_chars(), a..h, text).expect("fits");
    op.apply(&mut rope).expect("applies");
    assert_eq!(
        rope.line(16).to_string(),
        "    let end = (start + per_page).min(items.len());\n"
    );
}

/// The loop's tasks, played on the bundled files with the fix in: every `find` finds
/// its text, every task types something, and one round of the loop leaves each file
/// as it found it, so the loop can go on for as long as the session lasts.
#[test]
fn the_loop_finds_its_text_and_goes_round_to_where_it_began() {
    let steps = script().steps;
    let at = steps
        .iter()
        .position(|s| s.step == Step::Loop)
        .expect("the script has a loop");
    let mut files: std::collections::BTreeMap<String, Rope> = Default::default();
    let mut path = None;
    let mut selection = 0..0;
    let mut tasks = 0;
    let mut typed = 0;
    for ScriptStep { line, step } in &steps[at + 1..] {
        match step {
            Step::Task => tasks += 1,
            Step::Open(p) => {
                files.entry(p.clone()).or_insert_with(|| {
                    Rope::from_str(project::text_of(p).expect("a bundled file"))
                });
                path = Some(p.clone());
            }
            Step::Find(text) => {
                let rope = &files[path.as_ref().expect("a find after an open")];
                let start = rope
                    .to_string()
                    .find(text.as_str())
                    .unwrap_or_else(|| panic!("script line {line}: {text:?} is not in the file"));
                let start = rope.byte_to_char(start);
                selection = start..start + text.chars().count();
            }
            Step::Type(text) => {
                let rope = files.get_mut(path.as_ref().unwrap()).unwrap();
                Operation::replace(rope.len_chars(), selection.clone(), text)
                    .unwrap()
                    .apply(rope)
                    .unwrap();
                typed += 1;
            }
            Step::Select(..) | Step::Move(_) => {
                panic!("script line {line}: the loop's places come from `find`")
            }
            Step::Wait(_) | Step::Loop => {}
        }
    }
    assert!(tasks >= 3 && typed >= tasks, "{tasks} tasks, {typed} typed");
    for (path, rope) in files {
        assert_eq!(
            rope.to_string(),
            project::text_of(&path).unwrap(),
            "{path} after a round"
        );
    }
}

#[test]
fn parses_every_step_kind() {
    let text = "intro\n```\n# comment\nwait 20\nopen a b.rs\n\nmove 3:4\nselect 1:2-3:4\ntype  x y \nloop\ntask\nfind a = \"b\"\n```\n";
    let steps: Vec<(usize, Step)> = Script::parse(text)
        .expect("parses")
        .steps
        .into_iter()
        .map(|s| (s.line, s.step))
        .collect();
    let at = |line, col| ScriptPosition { line, col };
    assert_eq!(
        steps,
        vec![
            (4, Step::Wait(Duration::from_millis(20))),
            (5, Step::Open("a b.rs".into())),
            (7, Step::Move(at(3, 4))),
            (8, Step::Select(at(1, 2), at(3, 4))),
            (9, Step::Type(" x y ".into())),
            (10, Step::Loop),
            (11, Step::Task),
            (12, Step::Find("a = \"b\"".into())),
        ]
    );
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let error = |text: &str| Script::parse(text).expect_err("invalid").to_string();
    assert_eq!(
        error("```\nwait 1\njump 3:4\n```"),
        "script line 3: unknown step `jump`; the steps are open, move, select, find, type, \
         wait, loop and task"
    );
    assert_eq!(
        error("```\nmove 0:4\n```"),
        "script line 2: `0:4` is not LINE:COL (both counted from 1)"
    );
    assert_eq!(
        error("```\nselect 1:1\n```"),
        "script line 2: `1:1` is not LINE:COL-LINE:COL"
    );
    assert_eq!(
        error("```\nwait soon\n```"),
        "script line 2: `soon` is not a number of milliseconds"
    );
    assert_eq!(
        error("```\nopen\n```"),
        "script line 2: `open` needs a path"
    );
    assert_eq!(error("no steps"), ScriptError::NoBlock.to_string());
    assert_eq!(
        error("```\nwait 1\nloop\nwait 2\n```"),
        "script line 3: the steps after `loop` must start with `task`"
    );
    assert_eq!(
        error("\n```\nwait 1\n"),
        ScriptError::Unclosed(2).to_string()
    );
}

#[test]
fn positions_outside_the_document_clamp() {
    let rope = Rope::from_str("ab\ncd\n");
    let at = |line, col| ScriptPosition { line, col };
    assert_eq!(char_index(&rope, at(2, 2)), 4);
    assert_eq!(char_index(&rope, at(2, 40)), 5, "end of line 2");
    assert_eq!(char_index(&rope, at(90, 1)), 6, "end of the document");
}
