//! Where logs go and what they may hold. `COTYPE_LOG` chooses the levels (an `EnvFilter`,
//! `warn` by default), but other crates never log at trace level, whatever it says:
//! tungstenite and rustls log whole frames there, and a `Join` frame holds the admission
//! token. cotype's own trace logging never logs a payload, token or key.

use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// Starts logging to stderr, or with `to_file` to `cotype.log` in the state folder (the
/// terminal UI owns the screen); nowhere if that file cannot be opened.
pub fn init(to_file: bool) {
    let levels = EnvFilter::try_from_env("COTYPE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let no_foreign_trace = FilterFn::new(|metadata| {
        metadata.target().starts_with("cotype") || *metadata.level() <= tracing::Level::DEBUG
    });
    let layer = fmt::layer().with_ansi(!to_file);
    let layer = if to_file {
        let file = crate::tui::terminal::log_file_path().and_then(|path| {
            std::fs::create_dir_all(path.parent()?).ok()?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        match file {
            Some(file) => layer.with_writer(std::sync::Mutex::new(file)).boxed(),
            None => layer.with_writer(std::io::sink).boxed(),
        }
    } else {
        layer.with_writer(std::io::stderr).boxed()
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(no_foreign_trace).with_filter(levels))
        .init();
}
