//! Wires the roles together for one process: the embedded relay, the host session
//! against it, and the host's own editor. `host/` never starts a relay and `tui/` never
//! sees a `HostSession`; this is the one place that knows all three.

use std::net::SocketAddr;

use anyhow::Context;

use crate::client::driver::Driver;
use crate::host::HostSession;
use crate::tui::run::HostedSession;

/// Starts a relay on 127.0.0.1 (a free port) for a host that was given none, and returns
/// its address for `HostOptions::relay`. The relay serves until the process ends; keep
/// the handle to look at it.
pub async fn embedded_relay() -> anyhow::Result<(String, crate::relay::Relay)> {
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let (address, relay) = crate::relay::spawn(listen, crate::relay::RelayConfig::default())
        .await
        .context("cannot start the embedded relay")?;
    Ok((address.to_string(), relay))
}

/// Starts serving `session` in a task and gives the host's own editor what it needs: the
/// link to show, the session's controls and a way to join as the host's own user (the
/// `OwnerKey` stays inside that closure).
pub fn host_ui(mut session: HostSession) -> anyhow::Result<HostedSession> {
    let control = session
        .control()
        .context("the host session's controls were already taken")?;
    let link = session.link.clone();
    let verification_code = session.verification_code();
    let owner = session.owner_key();
    let link_url = link.to_url();
    let join_as_owner = Box::new(move |name: String| {
        let link = link.clone();
        let owner = owner.clone();
        Box::pin(async move { Driver::join_as(&link, &name, Some(owner)).await })
            as futures_util::future::LocalBoxFuture<'static, _>
    });
    Ok(HostedSession {
        link: link_url,
        verification_code,
        control,
        serving: tokio::spawn(session.run()),
        join_as_owner,
        ssh_command: None,
    })
}
