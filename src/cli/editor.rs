//! The commands that open the editor as a participant: `cotype join` and `cotype demo`,
//! and the look options they share with `cotype host`.

use std::time::Duration;

use super::links::parse_link;

/// How the editor looks and what its keys do: `host`, `join` and `demo` take these.
#[derive(clap::Args)]
pub struct LookArgs {
    /// Key bindings: default (modeless) or vim, or a file in your keymaps folder.
    #[arg(long, value_name = "NAME")]
    pub keymap: Option<String>,
    /// Color theme: default-dark, default-light, sixteen, or a file in your themes folder.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    look: LookArgs,
    /// Your name as the others see it (default: config.toml's name, else your login name).
    #[arg(long)]
    name: Option<String>,
    /// How much faster than a person Ada plays her script (for tests and impatience).
    #[arg(long, env = "COTYPE_DEMO_SPEED", default_value_t = 1.0, hide = true)]
    speed: f64,
    /// Seconds from the start of one of Ada's tasks to the next, once the bug is fixed
    /// (tests shorten it).
    #[arg(
        long,
        env = "COTYPE_DEMO_TASK_SECONDS",
        default_value_t = 20.0,
        hide = true
    )]
    task_seconds: f64,
}

#[derive(clap::Args)]
pub struct JoinArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// Follow this person (by name) instead of the host.
    #[arg(long, value_name = "NAME")]
    follow: Option<String>,
    #[command(flatten)]
    look: LookArgs,
    /// Do not capture the mouse, even if config.toml asks for it.
    #[arg(long)]
    no_mouse: bool,
    /// Your name as others see it (default: config.toml's name, else your login name).
    #[arg(long)]
    name: Option<String>,
    /// Accept an http:// link to a relay that is not on this machine.
    #[arg(long)]
    insecure: bool,
}

/// `cotype demo`: a host on a copy of the demo project with a scripted partner, joined
/// in the editor.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        look: LookArgs { keymap, theme },
        name,
        speed,
        task_seconds,
    } = args;
    let demo = cotype::demo::start(cotype::demo::DemoOptions {
        partner: cotype::demo::partner::PartnerOptions {
            speed,
            // Half a second at least; a value that is no duration keeps the default.
            task_period: Duration::try_from_secs_f64(task_seconds)
                .unwrap_or(cotype::demo::partner::TASK_PERIOD)
                .max(Duration::from_millis(500)),
            ..Default::default()
        },
        ..Default::default()
    })
    .await?;
    eprintln!(
        "cotype demo: a copy of the project is in {} (removed when the demo ends).",
        demo.project_root().display()
    );
    let options = cotype::tui::run::JoinOptions {
        name,
        // Ada is the one to watch; any key of your own stops following her.
        follow: Some(cotype::demo::partner::PartnerOptions::default().name),
        keymap,
        theme,
        no_mouse: false,
        // Short enough for 80 columns with the keys added.
        intro: Some("Ada is a scripted partner working on this project".into()),
    };
    let result = cotype::tui::run::join(&demo.link, options).await;
    let root = demo.project_root().display().to_string();
    drop(demo);
    eprintln!("cotype demo: ended; {root} is removed.");
    match result {
        Ok(()) => Ok(()),
        Err(cotype::tui::run::RunError::Client(error)) => Err(error.into()),
        Err(error) => Err(error.into()),
    }
}

/// `cotype join`: the editor in the session behind the link.
pub async fn join(args: JoinArgs) -> anyhow::Result<()> {
    let JoinArgs {
        link,
        follow,
        look: LookArgs { keymap, theme },
        no_mouse,
        name,
        insecure,
    } = args;
    let options = cotype::tui::run::JoinOptions {
        name,
        follow,
        keymap,
        theme,
        no_mouse,
        intro: None,
    };
    run_join(link, insecure, options).await
}

async fn run_join(
    link: Option<String>,
    insecure: bool,
    options: cotype::tui::run::JoinOptions,
) -> anyhow::Result<()> {
    use cotype::tui::run::RunError;
    let link = parse_link(link.as_deref(), insecure)?;
    match cotype::tui::run::join(&link, options).await {
        Ok(()) => Ok(()),
        // Keep the client error as it is, so the exit code says what went wrong.
        Err(RunError::Client(error)) => Err(error.into()),
        Err(error) => Err(error.into()),
    }
}
