//! The git gutter's arithmetic, done where the text is: the host sends a file's text as
//! the index (and HEAD) hold it once, and each participant diffs it against the live
//! shared text, so the marks follow everyone's typing, unsaved included, with no round
//! trip. Lines are compared with `similar` (patience diff over line numbers, with a
//! deadline so a pathological pair of texts cannot stall a frame).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag, TextDiff};

/// How long one comparison may take before `similar` settles for a coarser answer.
const DIFF_DEADLINE: Duration = Duration::from_millis(30);

/// What happened to a line of the shared text against the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineChange {
    /// Not in the base.
    Added,
    /// In place of other lines of the base.
    Modified,
    /// Lines of the base were removed just above this one (or below the last line).
    Deleted,
}

/// Every changed line of a text, and where each run of changes (a hunk) starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineChanges {
    /// Sorted by line (0-based), at most one mark a line.
    marks: Vec<(usize, LineChange)>,
    /// First line of each hunk, ascending.
    hunks: Vec<usize>,
}

impl LineChanges {
    /// `current` against `base`, line by line. The lines both share at the start and the
    /// end are set aside first (an edit touches a few lines of a large file), the rest
    /// are numbered (equal lines, equal numbers) and compared with patience diff, which
    /// anchors on lines found once in each and so stays near linear on source code.
    pub fn compute(base: &str, current: &str) -> LineChanges {
        let old: Vec<&str> = base.split_inclusive('\n').collect();
        let new: Vec<&str> = current.split_inclusive('\n').collect();
        let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        let suffix = old[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let (old_middle, new_middle) = (
            &old[prefix..old.len() - suffix],
            &new[prefix..new.len() - suffix],
        );
        let mut numbers = HashMap::with_capacity(old_middle.len());
        let old_numbers = number_lines(old_middle, &mut numbers);
        let new_numbers = number_lines(new_middle, &mut numbers);
        let ops = similar::capture_diff_slices_deadline(
            Algorithm::Patience,
            &old_numbers,
            &new_numbers,
            Some(Instant::now() + DIFF_DEADLINE),
        );
        let last_line = new.len().saturating_sub(1);
        let mut changes = LineChanges::default();
        for op in ops {
            let new_range = op.new_range();
            let new_range = prefix + new_range.start..prefix + new_range.end;
            let (kind, lines) = match op.tag() {
                DiffTag::Equal => continue,
                DiffTag::Insert => (LineChange::Added, new_range),
                DiffTag::Replace => (LineChange::Modified, new_range),
                // Shown on the line after the removed ones (the last line at the end).
                DiffTag::Delete => {
                    let at = new_range.start.min(last_line);
                    (LineChange::Deleted, at..at + 1)
                }
            };
            // Each run of changes between unchanged lines is a hunk.
            if changes.hunks.last() != Some(&lines.start) {
                changes.hunks.push(lines.start);
            }
            for line in lines {
                match changes.marks.last_mut() {
                    // A deletion right after a change to the same line: the change shows.
                    Some((last, _)) if *last == line => {}
                    _ => changes.marks.push((line, kind)),
                }
            }
        }
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// The mark of `line`, if it changed.
    pub fn at(&self, line: usize) -> Option<LineChange> {
        let found = self.marks.binary_search_by_key(&line, |&(at, _)| at);
        found.ok().map(|index| self.marks[index].1)
    }

    /// Lines added, modified and marked as deleted-above, for a summary.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |kind| self.marks.iter().filter(|(_, k)| *k == kind).count();
        (
            count(LineChange::Added),
            count(LineChange::Modified),
            count(LineChange::Deleted),
        )
    }

    /// The first line of the next hunk after `line`, from the top again past the last.
    pub fn next_hunk(&self, line: usize) -> Option<usize> {
        let after = self.hunks.iter().find(|&&start| start > line);
        after.or(self.hunks.first()).copied()
    }

    /// The first line of the hunk before the one `line` is in, from the bottom again
    /// before the first.
    pub fn previous_hunk(&self, line: usize) -> Option<usize> {
        let before = self.hunks.iter().rev().find(|&&start| start < line);
        before.or(self.hunks.last()).copied()
    }
}

/// Each line's number in `numbers`, equal lines the same (new lines get the next one).
fn number_lines<'a>(lines: &[&'a str], numbers: &mut HashMap<&'a str, u32>) -> Vec<u32> {
    lines
        .iter()
        .map(|&line| {
            let next = numbers.len() as u32;
            *numbers.entry(line).or_insert(next)
        })
        .collect()
}

/// A unified diff of `old` to `new` with three lines of context, `git diff`'s form.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_added_modified_and_deleted_lines() {
        let base = "one\ntwo\nthree\nfour\nfive\n";
        let current = "one\nTWO\nthree\nfive\nsix\nseven\n";
        let changes = LineChanges::compute(base, current);
        assert_eq!(changes.at(0), None);
        assert_eq!(changes.at(1), Some(LineChange::Modified));
        assert_eq!(changes.at(2), None);
        // "four" went: marked on the line after it.
        assert_eq!(changes.at(3), Some(LineChange::Deleted));
        assert_eq!(changes.at(4), Some(LineChange::Added));
        assert_eq!(changes.at(5), Some(LineChange::Added));
        assert_eq!(changes.hunks, vec![1, 3, 4]);
    }

    #[test]
    fn hunks_wrap_around_both_ways() {
        let changes = LineChanges::compute("a\nb\nc\nd\ne\n", "A\nb\nc\nD\ne\n");
        assert_eq!(changes.next_hunk(0), Some(3));
        assert_eq!(changes.next_hunk(3), Some(0));
        assert_eq!(changes.previous_hunk(3), Some(0));
        assert_eq!(changes.previous_hunk(0), Some(3));
        assert!(LineChanges::compute("same\n", "same\n").is_empty());
    }

    #[test]
    fn a_deletion_at_the_end_marks_the_last_line() {
        let changes = LineChanges::compute("a\nb\n", "a\n");
        assert_eq!(changes.at(0), Some(LineChange::Deleted));
    }

    #[test]
    fn unified_diff_reads_like_git() {
        let diff = unified_diff("a\nb\n", "a\nc\n", "a/f (HEAD)", "b/f");
        assert!(diff.contains("--- a/f (HEAD)"), "{diff}");
        assert!(diff.contains("-b\n+c\n"), "{diff}");
    }
}
