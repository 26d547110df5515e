//! `cotype changes`: the host's changed shared files as `path:XY`, XY being the two
//! letters of `git status --porcelain` (` M`, `M `, `A `, `??`, ` D`, …); hidden and
//! ignored files are never listed.

use super::headless::ParticipantArgs;
use super::links::parse_link;
use super::workspace_changes::join;

#[derive(clap::Args)]
pub struct ChangesArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// Print the branch first, as `## BRANCH` (porcelain's `--branch`).
    #[arg(long, short = 'b')]
    branch: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// The changes, one a line; exit 1 when the shared folder is not in a git repository.
pub async fn changes(args: ChangesArgs) -> anyhow::Result<()> {
    let link = parse_link(args.link.as_deref(), args.participant.insecure)?;
    let mut client = join(&link, &args.participant).await?;
    let status = client.git_status().await;
    client.leave().await;
    let status = match status {
        Ok(Some(status)) => status,
        Ok(None) => anyhow::bail!("the host's shared folder is not in a git repository"),
        Err(error) => return Err(error.into()),
    };
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.branch {
        let branch = status.branch.as_deref().unwrap_or("HEAD (no branch)");
        writeln!(out, "## {branch}")?;
    }
    for change in &status.changes {
        writeln!(out, "{}:{}", change.path, change.status)?;
    }
    out.flush()?;
    Ok(())
}
