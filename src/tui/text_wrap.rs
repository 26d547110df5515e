//! Text broken into rows for a popup or a menu of a given width.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// `text` as lines at most `width` columns wide: its own line breaks kept, lines broken
/// between words, a word longer than a line broken inside.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut line_width = 0;
        for word in paragraph.split_inclusive(' ') {
            let word_width = word.trim_end().width();
            if line_width + word_width > width && !line.is_empty() {
                out.push(std::mem::take(&mut line).trim_end().to_owned());
                line_width = 0;
            }
            for g in word.graphemes(true) {
                let g_width = g.width();
                if line_width + g_width > width && g != " " {
                    out.push(std::mem::take(&mut line).trim_end().to_owned());
                    line_width = 0;
                }
                line.push_str(g);
                line_width += g_width;
            }
        }
        out.push(line.trim_end().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_text_wraps_between_words_and_keeps_its_lines() {
        assert_eq!(
            wrap("file not included in any crates\nsee the docs", 12),
            vec!["file not", "included in", "any crates", "see the docs"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), Vec::<String>::new());
    }
}
