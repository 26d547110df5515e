//! The `shelf` command: list, show and export the reading list.

use std::path::PathBuf;
use std::process::ExitCode;

use shelf::{book, page, page_count, Config};

const USAGE: &str = "usage: shelf [--config FILE] <command>

commands:
  list [--page N]   the reading list, one page at a time (default page 1)
  show ID           one book
  export            the whole list as JSON (for web/shelf.js)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("shelf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Vec<String>) -> Result<(), String> {
    let mut config_path = PathBuf::from("shelf.toml");
    if args.first().map(String::as_str) == Some("--config") {
        if args.len() < 2 {
            return Err("--config needs a file".to_string());
        }
        config_path = PathBuf::from(args.remove(1));
        args.remove(0);
    }
    let config = Config::load(&config_path)?;
    let text = std::fs::read_to_string(&config.data)
        .map_err(|e| format!("cannot read {}: {e}", config.data.display()))?;
    let mut books = book::parse_list(&text)?;
    book::sort_books(&mut books, &config.sort)?;

    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => list(&books, 1, config.page_size),
        ["list", "--page", number] => {
            let number = number
                .parse()
                .map_err(|_| format!("--page takes a number, not {number:?}"))?;
            list(&books, number, config.page_size)
        }
        ["show", id] => {
            let book = books
                .iter()
                .find(|b| b.id.to_string() == id)
                .ok_or_else(|| format!("no book with id {id}"))?;
            println!("{book}");
            Ok(())
        }
        ["export"] => {
            println!("{}", book::to_json(&books));
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn list(books: &[shelf::Book], number: usize, per_page: usize) -> Result<(), String> {
    let pages = page_count(books.len(), per_page);
    if number == 0 || number > pages.max(1) {
        return Err(format!(
            "there is no page {number}; pages go from 1 to {pages}"
        ));
    }
    for book in page(books, number, per_page) {
        println!("{book}");
    }
    println!("— {} books, page {number} of {pages}", books.len());
    Ok(())
}
