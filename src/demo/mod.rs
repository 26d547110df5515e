//! `cotype demo`: everything a newcomer needs to see cotype working, in one process and
//! without configuration or network — a relay on 127.0.0.1, a host sharing a fresh copy
//! of the bundled example project, and Ada, a scripted partner who finds and fixes its
//! bug. The caller joins the returned link as a participant (the TUI, or a test).

pub mod partner;
pub mod project;

use std::path::Path;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::host::{HostOptions, HostSession};
use crate::link::Link;
use crate::protocol::ParticipantId;
use partner::{Partner, PartnerError, PartnerOptions};
use project::ProjectDir;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The host's name in the people panel.
    pub host_name: String,
    pub partner: PartnerOptions,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            // The people panel adds the role: "demo host".
            host_name: "demo".into(),
            partner: PartnerOptions::default(),
        }
    }
}

/// A running demo. Dropping it stops the host and the partner and removes the project
/// folder.
pub struct Demo {
    /// The link the user joins.
    pub link: Link,
    /// Ada's participant id, to follow her.
    pub partner_id: ParticipantId,
    pub verification_code: String,
    host: JoinHandle<anyhow::Result<()>>,
    partner: JoinHandle<Result<(), PartnerError>>,
    // Declared last so it is removed after the tasks are told to stop.
    project: ProjectDir,
}

/// Writes the project to a temporary folder, starts a host on it with an embedded relay,
/// and joins the partner, who starts playing once someone else joins.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    let project = ProjectDir::create()
        .context("cannot write the demo project to a temporary folder; is the disk full?")?;
    // A relay of its own on 127.0.0.1: the demo works offline.
    let (relay, _relay) = crate::roles::embedded_relay().await?;
    let host = HostSession::start(HostOptions {
        root: project.path().to_path_buf(),
        relay,
        insecure: false,
        hide: Vec::new(),
        name: options.host_name,
        approval: crate::host_control::Approval::Auto,
        trust_project: false,
    })
    .await
    .context("cannot start the demo's host")?;
    let link = host.link.clone();
    let verification_code = host.verification_code();
    let host = tokio::spawn(host.run());
    let partner = match Partner::join(&link, &options.partner).await {
        Ok(partner) => partner,
        Err(e) => {
            host.abort();
            return Err(e).context("cannot start the demo's partner");
        }
    };
    let partner_id = partner.id();
    let partner = tokio::spawn(async move {
        let result = partner.play().await;
        if let Err(e) = &result {
            tracing::warn!("{e}");
        }
        result
    });
    Ok(Demo {
        link,
        partner_id,
        verification_code,
        host,
        partner,
        project,
    })
}

impl Demo {
    /// Where the project lives while the demo runs (the user may look, or run its tests).
    pub fn project_root(&self) -> &Path {
        self.project.path()
    }

    /// Whether the host or the partner stopped (an error for the host; the partner may
    /// also stop when the session ends).
    pub fn is_finished(&self) -> bool {
        self.host.is_finished() || self.partner.is_finished()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.partner.abort();
        self.host.abort();
    }
}
