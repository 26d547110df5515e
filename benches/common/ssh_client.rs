//! The OpenSSH client's side of the SSH guest benches: a fresh key and an ssh_config that
//! accepts the relay's jump key into a throwaway known_hosts.

use std::path::Path;
use std::process::Command;

/// Writes a fresh ed25519 key and an ssh_config using it under `home`; the config's path.
pub fn ssh_config(home: &Path) -> Result<String, String> {
    let key = home.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .map_err(|e| format!("ssh-keygen is needed: {e}"))?;
    if !made.success() {
        return Err("ssh-keygen failed".into());
    }
    let config = home.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking accept-new\n  LogLevel ERROR\n",
            key.display(),
            home.join("known_hosts").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(config.display().to_string())
}
