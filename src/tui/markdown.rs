//! Hover text is markdown from the host's language server; this turns it into styled,
//! wrapped terminal lines. It covers what servers write in hovers (headings, fenced code,
//! lists, emphasis, inline code, links, rules, backslash escapes), not all of CommonMark:
//! anything else shows as the plain text it is.
//!
//! Code (fenced blocks here, peeked definitions in the popups) is colored by the editor's
//! own tree-sitter highlighter, so a signature in a hover looks as it does in the file.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ropey::Rope;
use unicode_width::UnicodeWidthStr;

use crate::tui::highlight::{Language, Syntax};
use crate::tui::theme::Theme;

/// Columns a tab takes in code shown in a popup.
const TAB: &str = "    ";

/// `markdown` as lines at most `width` columns wide (code is never wrapped: it is cut at
/// the popup's edge, as in the editor). Runs of blank lines become one.
pub fn render(markdown: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let width = width.max(8);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut code: Option<(Option<Language>, Vec<String>)> = None;
    let mut rules = Vec::new();
    for raw in markdown.lines() {
        let trimmed = raw.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match code.take() {
                Some((language, lines)) => out.extend(highlighted(language, &lines, theme)),
                None => code = Some((fence_language(info.trim()), Vec::new())),
            }
            continue;
        }
        if let Some((_, lines)) = &mut code {
            lines.push(raw.to_owned());
            continue;
        }
        if trimmed.is_empty() {
            let after_rule = rules.last().is_some_and(|&rule| rule + 1 == out.len());
            if !after_rule && out.last().is_some_and(|line| !line.spans.is_empty()) {
                out.push(Line::default());
            }
            continue;
        }
        if is_rule(trimmed) {
            // The rule separates on its own: no blank line around it.
            if out.last().is_some_and(|line| line.spans.is_empty()) {
                out.pop();
            }
            rules.push(out.len());
            out.push(Line::from(Span::styled("", theme.get("comment"))));
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let style = theme.get("markup.heading").add_modifier(Modifier::BOLD);
            out.extend(wrap(
                &inline(trimmed[hashes..].trim(), style, theme),
                width,
                "",
            ));
            continue;
        }
        if let Some((marker, rest)) = list_item(trimmed) {
            let indent = " ".repeat(raw.len() - trimmed.len());
            let bullet = format!("{indent}{marker}");
            let hanging = " ".repeat(bullet.width());
            let mut spans = vec![(bullet, Style::default())];
            spans.extend(inline(rest, Style::default(), theme));
            out.extend(wrap(&spans, width, &hanging));
            continue;
        }
        out.extend(wrap(&inline(trimmed, Style::default(), theme), width, ""));
    }
    // An unclosed fence still shows its code.
    if let Some((language, lines)) = code {
        out.extend(highlighted(language, &lines, theme));
    }
    while out.last().is_some_and(|line| line.spans.is_empty()) {
        out.pop();
    }
    // A rule spans the text, not the popup's widest possible width.
    let text_width = out
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .clamp(3, width);
    for rule in rules {
        if let Some(span) = out.get_mut(rule).and_then(|line| line.spans.first_mut()) {
            span.content = "─".repeat(text_width).into();
        }
    }
    out
}

/// Code lines colored by `language`'s highlighter (plain without one), tabs expanded.
pub fn highlighted(
    language: Option<Language>,
    lines: &[String],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut text = lines.join("\n");
    text.push('\n');
    let rope = Rope::from_str(&text);
    let syntax = language.map(|language| Syntax::new(language, &rope));
    let highlights = syntax
        .as_ref()
        .map(|syntax| syntax.highlights(&rope, 0..rope.len_bytes()));
    let styles = highlights
        .as_ref()
        .map(|highlights| theme.capture_styles(highlights.capture_names()))
        .unwrap_or_default();
    let base = theme.get("ui.text");
    let mut byte = 0;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut run = String::new();
        let mut run_style = base;
        for c in line.chars() {
            let style = highlights
                .as_ref()
                .and_then(|h| h.capture_at(byte))
                .and_then(|capture| styles.get(capture as usize).copied().flatten())
                .map_or(base, |style| base.patch(style));
            if style != run_style && !run.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut run), run_style));
            }
            run_style = style;
            if c == '\t' {
                run.push_str(TAB);
            } else {
                run.push(c);
            }
            byte += c.len_utf8();
        }
        if !run.is_empty() {
            spans.push(Span::styled(run, run_style));
        }
        byte += 1; // the line break
        out.push(Line::from(spans));
    }
    out
}

/// The language a fence names: ```` ```rust ````, ```` ```py ````, …
fn fence_language(info: &str) -> Option<Language> {
    Language::from_fence(info)
}

fn is_rule(line: &str) -> bool {
    let line = line.trim_end();
    line.len() >= 3
        && ["-", "*", "_"]
            .iter()
            .any(|mark| line.chars().all(|c| c.to_string() == *mark))
}

/// `- item`, `* item`, `+ item` or `1. item`: the marker to show and the item's text.
fn list_item(line: &str) -> Option<(String, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(("• ".to_owned(), rest));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = line[digits..].strip_prefix(". ")?;
    (digits > 0).then(|| (format!("{}. ", &line[..digits]), rest))
}

/// Inline markup of one line as styled pieces: `code`, **strong**, *emphasis*,
/// [links](…) (their text, underlined), backslash escapes.
fn inline(text: &str, base: Style, theme: &Theme) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = Vec::new();
    let mut plain = String::new();
    let mut strong = false;
    let mut emphasis = false;
    let style_now = |strong: bool, emphasis: bool| {
        let mut style = base;
        if strong {
            style = style.add_modifier(Modifier::BOLD);
        }
        if emphasis {
            style = style.add_modifier(Modifier::ITALIC);
        }
        style
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let flush = |plain: &mut String, out: &mut Vec<(String, Style)>, style: Style| {
        if !plain.is_empty() {
            out.push((std::mem::take(plain), style));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' if next.is_some_and(|n| n.is_ascii_punctuation()) => {
                plain.extend(next);
                i += 2;
            }
            '`' => {
                let ticks = chars[i..].iter().take_while(|c| **c == '`').count();
                let fence: String = "`".repeat(ticks);
                let rest: String = chars[i + ticks..].iter().collect();
                match rest.find(&fence) {
                    Some(end) => {
                        flush(&mut plain, &mut out, style_now(strong, emphasis));
                        let code = rest[..end].trim().to_owned();
                        let style = style_now(strong, emphasis).patch(theme.get("markup.raw"));
                        i += ticks + rest[..end].chars().count() + ticks;
                        out.push((code, style));
                    }
                    None => {
                        plain.push_str(&fence);
                        i += ticks;
                    }
                }
            }
            '*' | '_' if next == Some(c) => {
                flush(&mut plain, &mut out, style_now(strong, emphasis));
                strong = !strong;
                i += 2;
            }
            // Emphasis opens before a word and closes after one; a `_` inside a word
            // (snake_case) or a `*` between spaces is just the character.
            '*' | '_'
                if {
                    let before = i.checked_sub(1).map(|at| chars[at]);
                    let inside_word = c == '_'
                        && before.is_some_and(char::is_alphanumeric)
                        && next.is_some_and(char::is_alphanumeric);
                    let opens = !emphasis && next.is_some_and(|n| !n.is_whitespace());
                    let closes = emphasis && before.is_some_and(|b| !b.is_whitespace());
                    !inside_word && (opens || closes)
                } =>
            {
                flush(&mut plain, &mut out, style_now(strong, emphasis));
                emphasis = !emphasis;
                i += 1;
            }
            '[' => {
                let rest: String = chars[i + 1..].iter().collect();
                let link = rest.find("](").and_then(|close| {
                    let target = &rest[close + 2..];
                    target.find(')').map(|end| (close, end))
                });
                match link {
                    Some((close, end)) => {
                        flush(&mut plain, &mut out, style_now(strong, emphasis));
                        let label = rest[..close].to_owned();
                        let style = style_now(strong, emphasis).patch(theme.get("markup.link"));
                        out.push((label, style));
                        i += 1 + rest[..close + 2 + end + 1].chars().count();
                    }
                    None => {
                        plain.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                plain.push(c);
                i += 1;
            }
        }
    }
    flush(&mut plain, &mut out, style_now(strong, emphasis));
    out
}

/// Greedy word wrap of styled pieces to `width` columns; lines after the first start with
/// `hanging` (a list item's indent). A word longer than a line is cut.
fn wrap(pieces: &[(String, Style)], width: usize, hanging: &str) -> Vec<Line<'static>> {
    // A deep indent in a narrow popup would leave no room for the text (`hanging` is
    // spaces, so any byte is a char boundary).
    let hanging = &hanging[..hanging.len().min(width / 2)];
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0usize;
    let mut pending_space: Option<Style> = None;
    for (text, style) in pieces {
        let mut first = true;
        for word in text.split(' ') {
            if !first {
                pending_space = Some(*style);
            }
            first = false;
            if word.is_empty() {
                continue;
            }
            let word_width = word.width();
            let space = usize::from(pending_space.is_some() && used > 0);
            if used > 0 && used + space + word_width > width {
                lines.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw(hanging.to_owned()));
                used = hanging.width();
                pending_space = None;
            } else if let Some(space_style) = pending_space.take()
                && used > 0
            {
                spans.push(Span::styled(" ", space_style));
                used += 1;
            }
            let mut word = word.to_owned();
            while used + word.width() > width && word.chars().count() > 1 {
                word.pop();
            }
            used += word.width();
            spans.push(Span::styled(word, *style));
        }
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::ColorMode;

    fn theme() -> Theme {
        Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap()
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn a_rust_analyzer_hover_reads_as_code_then_prose() {
        let hover = "```rust\nfixture_crate::shapes\n```\n\n```rust\npub fn area(shape: &Shape) -> f64\n```\n\n---\n\nThe **area** of `shape`, in square_units.\n\n# Examples\n\n- one\n- two";
        let theme = theme();
        let lines = render(hover, 30, &theme);
        assert_eq!(
            text(&lines),
            [
                "fixture_crate::shapes",
                "",
                "pub fn area(shape: &Shape) -> f64",
                "──────────────────────────────",
                "The area of shape, in",
                "square_units.",
                "",
                "Examples",
                "",
                "• one",
                "• two",
            ]
        );
        // `pub` is a keyword, colored as the editor colors it.
        let keyword = theme.get("ui.text").patch(theme.get("keyword"));
        assert_eq!(lines[2].spans[0].content, "pub");
        assert_eq!(lines[2].spans[0].style.fg, keyword.fg);
        let strong = &lines[4].spans[2];
        assert_eq!(strong.content, "area");
        assert!(strong.style.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn wrapped_list_items_hang_under_their_text() {
        let lines = render("- a list item that wraps", 12, &theme());
        assert_eq!(text(&lines), ["• a list", "  item that", "  wraps"]);
    }

    /// Found by the fuzz target `markdown`: a list item indented deeper than the popup is
    /// wide hung its continuation lines past the popup's edge.
    #[test]
    fn a_deeply_indented_item_still_fits_a_narrow_popup() {
        let lines = render("              * one two three four", 8, &theme());
        assert!(lines.len() > 1, "{:?}", text(&lines));
        for line in text(&lines) {
            assert!(line.width() <= 8, "{line:?} is wider than 8 columns");
        }
    }

    #[test]
    fn escapes_links_and_unclosed_code_stay_readable() {
        let lines = render("a\\*b [docs](https://x.y/z) `open", 80, &theme());
        assert_eq!(text(&lines), ["a*b docs `open"]);
    }
}
