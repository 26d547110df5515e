//! Taking the session link from the command line, stdin (`-`) or `COTYPE_LINK`, and the
//! mistakes in doing so that are usage errors (exit code 2).

use cotype::link::{Link, resolve_link_text};

/// A mistake in how the command was called: exit code 2, as clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

pub fn parse_link(argument: Option<&str>, insecure: bool) -> anyhow::Result<Link> {
    if argument.is_none() && std::env::var_os("COTYPE_LINK").is_none() {
        return Err(Usage(
            "no link given: pass it as the first argument, '-' to read it from stdin, or set COTYPE_LINK"
                .into(),
        )
        .into());
    }
    let text = resolve_link_text(argument)?;
    Ok(Link::parse(&text, insecure)?)
}

/// The link and the next positional of a command whose LINK may be left out
/// (`cotype cat [LINK] PATH`). Both are optional to clap, which fills them in order, so
/// one positional alone is the PATH and the link comes from COTYPE_LINK; but a link alone
/// means PATH was forgotten: say so rather than ask the host for a file named like it.
/// (clap's `allow_missing_positional` would do this, but sends whatever follows `--` to
/// the last positional, breaking `cotype search LINK -- PATTERN`.)
pub fn link_and(
    first: Option<String>,
    second: Option<String>,
    second_name: &str,
    insecure: bool,
) -> anyhow::Result<(Link, String)> {
    let (link, next) = match (first, second) {
        (link, Some(next)) => (link, next),
        (Some(only), None) if !looks_like_link(&only) => (None, only),
        _ => return Err(Usage(format!("{second_name} is missing after the link")).into()),
    };
    Ok((parse_link(link.as_deref(), insecure)?, next))
}

/// Whether a positional argument is a session link (or '-', the link from stdin) rather
/// than a path or a pattern.
pub fn looks_like_link(text: &str) -> bool {
    let text = text.trim();
    text == "-"
        || ((text.starts_with("https://") || text.starts_with("http://")) && text.contains("/s/"))
}
