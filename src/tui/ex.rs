//! vim's command line (`:`), as the vim keymap offers it: the commands vim users type
//! without thinking. Parsing only; the app carries the commands out.
//!
//! `:w`, `:q`, `:q!`, `:wq`, `:x` (and `ZZ`), `:42` (and `:$`), and
//! `:[range]s/pattern/replacement/[gci]` where the range is `%`, `N,M`, `.` or `$`.
//! Patterns are regular expressions in Rust's syntax (the one ripgrep and workspace search
//! use), which differs from vim's magic in places: `(a|b)` groups, `\b` is a word edge.

use regex::RegexBuilder;

use crate::tui::editor::SubstituteRequest;
use crate::tui::editor::substitute::{LineRange, LineSpec, ReplacementSyntax};

/// A command typed after `:`.
#[derive(Debug, Clone)]
pub enum ExCommand {
    /// `:w`
    Write,
    /// `:wq`: save, then leave once the host has saved.
    WriteQuit,
    /// `:x`, `ZZ`: as `:wq` if there are unsaved edits, else as `:q`.
    Exit,
    /// `:q` refuses while a file has unsaved edits; `:q!` leaves anyway.
    Quit {
        force: bool,
    },
    /// `:42`, `:$`.
    GoToLine(LineSpec),
    Substitute(SubstituteRequest),
    /// `:vsplit`, `:vs`: two files side by side (again: one).
    VerticalSplit,
    /// An empty line: nothing, as in vim.
    Nothing,
}

/// Parses the text typed after `:`. The error is what vim would say.
pub fn parse(text: &str) -> Result<ExCommand, String> {
    let text = text.trim_start_matches([':', ' ', '\t']).trim_end();
    if text.is_empty() {
        return Ok(ExCommand::Nothing);
    }
    let (range, rest) = parse_range(text)?;
    let rest = rest.trim_start();
    if rest.is_empty() {
        return match range {
            Some(LineRange::Lines(_, to)) => Ok(ExCommand::GoToLine(to)),
            Some(LineRange::All) => Ok(ExCommand::GoToLine(LineSpec::Last)),
            _ => Ok(ExCommand::Nothing),
        };
    }
    let word_end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let (word, after) = rest.split_at(word_end);
    if matches!(word, "s" | "substitute") {
        return substitute(range.unwrap_or(LineRange::Current), after);
    }
    let bang = after.starts_with('!');
    let after = after.trim_start_matches('!').trim();
    let not_a_command = || format!("E492: Not an editor command: {text}");
    if range.is_some() {
        return Err(not_a_command());
    }
    if !after.is_empty() {
        return Err(format!("E488: Trailing characters: {after}"));
    }
    Ok(match word {
        "w" | "write" => ExCommand::Write,
        "wq" | "wqa" | "wqall" | "xa" | "xall" => ExCommand::WriteQuit,
        "x" | "xi" | "xit" | "exi" | "exit" => ExCommand::Exit,
        "q" | "quit" | "qa" | "qall" | "quita" | "quitall" => ExCommand::Quit { force: bang },
        "vs" | "vsp" | "vsplit" => ExCommand::VerticalSplit,
        _ => return Err(not_a_command()),
    })
}

/// A range before the command: `%`, `.`, `$`, `N`, or two of them with a comma.
fn parse_range(text: &str) -> Result<(Option<LineRange>, &str), String> {
    if let Some(rest) = text.strip_prefix('%') {
        return Ok((Some(LineRange::All), rest));
    }
    let Some((first, rest)) = parse_address(text)? else {
        return Ok((None, text));
    };
    if let Some(after_comma) = rest.strip_prefix(',') {
        let (second, rest) =
            parse_address(after_comma)?.ok_or_else(|| "E14: Invalid address".to_string())?;
        return Ok((Some(LineRange::Lines(first, second)), rest));
    }
    Ok((Some(LineRange::Lines(first, first)), rest))
}

fn parse_address(text: &str) -> Result<Option<(LineSpec, &str)>, String> {
    if let Some(rest) = text.strip_prefix('.') {
        return Ok(Some((LineSpec::Current, rest)));
    }
    if let Some(rest) = text.strip_prefix('$') {
        return Ok(Some((LineSpec::Last, rest)));
    }
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return Ok(None);
    }
    let number = text[..digits]
        .parse::<usize>()
        .map_err(|_| "E14: Invalid address".to_string())?;
    Ok(Some((LineSpec::Number(number), &text[digits..])))
}

/// `/pattern/replacement/flags` (any punctuation as the delimiter, as in vim).
fn substitute(range: LineRange, text: &str) -> Result<ExCommand, String> {
    let mut chars = text.chars();
    let delimiter = match chars.next() {
        Some(c) if !c.is_alphanumeric() && !matches!(c, ' ' | '\\' | '"' | '|') => c,
        _ => return Err("E146: Regular expressions can't be delimited by letters".into()),
    };
    let mut parts = vec![String::new()];
    let mut rest = chars.peekable();
    while let Some(c) = rest.next() {
        if c == '\\' && rest.peek() == Some(&delimiter) {
            parts.last_mut().unwrap().push(delimiter);
            rest.next();
        } else if c == '\\' {
            // Escapes stay for the pattern and the replacement to read.
            let part = parts.last_mut().unwrap();
            part.push('\\');
            if let Some(next) = rest.next() {
                part.push(next);
            }
        } else if c == delimiter && parts.len() < 3 {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    let pattern = parts[0].clone();
    let replacement = parts.get(1).cloned().unwrap_or_default();
    let flags = parts.get(2).map(|flags| flags.trim()).unwrap_or_default();
    if pattern.is_empty() {
        return Err("E35: No previous regular expression".into());
    }
    let (mut global, mut confirm, mut ignore_case) = (false, false, false);
    for flag in flags.chars() {
        match flag {
            'g' => global = true,
            'c' => confirm = true,
            'i' => ignore_case = true,
            'I' => ignore_case = false,
            other => return Err(format!("E488: Trailing characters: {other}")),
        }
    }
    let pattern = RegexBuilder::new(&pattern)
        .case_insensitive(ignore_case)
        .size_limit(crate::protocol::search::PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|error| format!("E486: invalid pattern {pattern:?}: {error}"))?;
    Ok(ExCommand::Substitute(SubstituteRequest {
        range,
        pattern,
        replacement,
        global,
        confirm,
        syntax: ReplacementSyntax::Vim,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn substitution(text: &str) -> SubstituteRequest {
        match parse(text) {
            Ok(ExCommand::Substitute(request)) => request,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn file_commands_and_line_numbers() {
        assert!(matches!(parse("w"), Ok(ExCommand::Write)));
        assert!(matches!(parse(":write"), Ok(ExCommand::Write)));
        assert!(matches!(parse("q"), Ok(ExCommand::Quit { force: false })));
        assert!(matches!(parse("q!"), Ok(ExCommand::Quit { force: true })));
        assert!(matches!(parse("wq"), Ok(ExCommand::WriteQuit)));
        assert!(matches!(parse("x"), Ok(ExCommand::Exit)));
        assert!(matches!(
            parse("42"),
            Ok(ExCommand::GoToLine(LineSpec::Number(42)))
        ));
        assert!(matches!(
            parse("$"),
            Ok(ExCommand::GoToLine(LineSpec::Last))
        ));
        assert!(matches!(parse(""), Ok(ExCommand::Nothing)));
        assert_eq!(
            parse("frobnicate").unwrap_err(),
            "E492: Not an editor command: frobnicate"
        );
        assert!(parse("q extra").unwrap_err().starts_with("E488"));
    }

    #[test]
    fn substitutions_with_ranges_flags_and_delimiters() {
        let request = substitution("s/a/b/");
        assert_eq!(request.range, LineRange::Current);
        assert_eq!(request.pattern.as_str(), "a");
        assert_eq!(request.replacement, "b");
        assert!(!request.global && !request.confirm);
        let request = substitution("%s/a/b/gc");
        assert_eq!(request.range, LineRange::All);
        assert!(request.global && request.confirm);
        let request = substitution("2,$s#a/b#c#g");
        assert_eq!(
            request.range,
            LineRange::Lines(LineSpec::Number(2), LineSpec::Last)
        );
        assert_eq!(request.pattern.as_str(), "a/b");
        assert_eq!(request.replacement, "c");
        // An escaped delimiter is the character itself; other escapes stay for the regex.
        let request = substitution(r"s/a\/b\d/x\/y\1/");
        assert_eq!(request.pattern.as_str(), r"a/b\d");
        assert_eq!(request.replacement, r"x/y\1");
        // No closing delimiter: the replacement runs to the end.
        assert_eq!(substitution("s/a/b").replacement, "b");
        assert_eq!(substitution("s/a").replacement, "");
        assert!(substitution("s/A/b/i").pattern.is_match("a"));
        assert!(parse("s/(/x/").unwrap_err().starts_with("E486"));
        assert!(parse("s//x/").unwrap_err().starts_with("E35"));
        assert!(parse("s/a/b/z").unwrap_err().starts_with("E488"));
    }
}
