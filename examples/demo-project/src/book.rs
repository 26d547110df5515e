//! Books as the reading list stores them: one tab-separated line each.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    ToRead,
    Reading,
    Read,
}

impl Status {
    fn parse(text: &str) -> Option<Status> {
        match text {
            "to-read" => Some(Status::ToRead),
            "reading" => Some(Status::Reading),
            "read" => Some(Status::Read),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::ToRead => "to-read",
            Status::Reading => "reading",
            Status::Read => "read",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    pub id: u32,
    pub title: String,
    pub author: String,
    pub year: u16,
    pub status: Status,
}

impl fmt::Display for Book {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.status {
            Status::Read => "x",
            Status::Reading => "~",
            Status::ToRead => " ",
        };
        write!(
            f,
            "[{mark}] {} — {} ({})",
            self.title, self.author, self.year
        )
    }
}

/// Reads the whole list. The first line is a header; blank lines are skipped.
/// Errors name the line, so a typo in the file is easy to find.
pub fn parse_list(text: &str) -> Result<Vec<Book>, String> {
    let mut books = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, title, author, year, status] = fields[..] else {
            return Err(format!("line {number}: expected 5 tab-separated fields"));
        };
        books.push(Book {
            id: id
                .parse()
                .map_err(|_| format!("line {number}: bad id {id:?}"))?,
            title: title.to_string(),
            author: author.to_string(),
            year: year
                .parse()
                .map_err(|_| format!("line {number}: bad year {year:?}"))?,
            status: Status::parse(status)
                .ok_or_else(|| format!("line {number}: unknown status {status:?}"))?,
        });
    }
    Ok(books)
}

/// Sorts in place by "author", "title" or "year"; ties go to the older book.
pub fn sort_books(books: &mut [Book], order: &str) -> Result<(), String> {
    match order {
        "author" => books.sort_by(|a, b| a.author.cmp(&b.author).then(a.year.cmp(&b.year))),
        "title" => books.sort_by(|a, b| a.title.cmp(&b.title)),
        "year" => books.sort_by_key(|b| (b.year, b.id)),
        other => {
            return Err(format!(
                "unknown sort order {other:?} (author, title or year)"
            ))
        }
    }
    Ok(())
}

/// The list as JSON, for `web/shelf.js`. Written by hand to keep the crate dependency-free.
pub fn to_json(books: &[Book]) -> String {
    let items: Vec<String> = books
        .iter()
        .map(|b| {
            format!(
                r#"{{"id":{},"title":{},"author":{},"year":{},"status":"{}"}}"#,
                b.id,
                json_string(&b.title),
                json_string(&b.author),
                b.year,
                b.status.as_str()
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_the_bad_line() {
        let text = "id\ttitle\tauthor\tyear\tstatus\n1\tDune\tFrank Herbert\t1965\tread\n2\tOops\n";
        assert_eq!(
            parse_list(text).unwrap_err(),
            "line 3: expected 5 tab-separated fields"
        );
    }

    #[test]
    fn json_escapes_quotes() {
        assert_eq!(json_string(r#"say "hi""#), r#""say \"hi\"""#);
    }
}
