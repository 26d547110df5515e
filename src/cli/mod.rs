//! The command line's parts beside `main.rs`: one module per role (`relay`, `host`, the
//! editor's `join` and `demo`), the headless commands, one function each (those changing
//! the shared folder in `workspace_changes`), and how a session link is taken from the
//! arguments, stdin or `COTYPE_LINK`.

pub mod editor;
pub mod git;
pub mod headless;
pub mod host;
pub mod language_edits;
pub mod links;
pub mod relay;
pub mod term;
pub mod workspace_changes;

/// Resolves on Ctrl-C, SIGTERM or SIGHUP. The handlers are installed when this is called,
/// not when first awaited: a signal that comes right after the host printed its link still
/// ends it cleanly.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ];
        let mut signals: Vec<_> = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
        async move {
            if signals.is_empty() {
                return std::future::pending().await;
            }
            let received = signals.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(received).await;
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
