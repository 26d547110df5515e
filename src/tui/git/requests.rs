//! The participant loop's questions to the host about git: the status (the branch, and
//! the changed files when the picker asked) and each open file's base texts. It remembers
//! which request is whose; an answer to a question asked again since is dropped.

use std::collections::{HashMap, VecDeque};

use crate::client::request::{self, GitBase, GitStatus};
use crate::client::session::Session;
use crate::protocol::git::GitChange;
use crate::protocol::message::{RequestId, Response};
use crate::tui::app::App;

#[derive(Debug, Default)]
pub struct GitRequests {
    /// The status asked for, whether the picker waits for it, and the batches so far.
    status: Option<(RequestId, bool, Vec<GitChange>)>,
    /// Base texts asked for, by request.
    bases: HashMap<RequestId, String>,
    /// Base texts still to ask for: a few at a time, so a member with many files open
    /// stays within the requests the host lets one member have in flight.
    queued: VecDeque<String>,
}

/// Base texts asked for at once, at most.
const BASES_IN_FLIGHT: usize = 4;

impl GitRequests {
    /// Asks for the branch and the changed files; `picker`: show them when they come.
    pub fn ask_status(&mut self, session: &mut Session, picker: bool) {
        // A picker asked for earlier still opens with the newer answer.
        let picker = picker || self.status.as_ref().is_some_and(|(_, asked, _)| *asked);
        let id = session.ask(GitStatus);
        self.status = Some((id, picker, Vec::new()));
    }

    /// Asks for `path`'s index and HEAD texts (again, replacing an older question).
    pub fn ask_base(&mut self, session: &mut Session, path: &str) {
        self.bases.retain(|_, asked| asked != path);
        if !self.queued.iter().any(|queued| queued == path) {
            self.queued.push_back(path.to_owned());
        }
        self.send_queued(session);
    }

    fn send_queued(&mut self, session: &mut Session) {
        while self.bases.len() < BASES_IN_FLIGHT
            && let Some(path) = self.queued.pop_front()
        {
            let id = session.ask(GitBase { path: path.clone() });
            self.bases.insert(id, path);
        }
    }

    /// Whether response `id` answers one of our questions.
    pub fn owns(&self, id: RequestId) -> bool {
        self.bases.contains_key(&id) || self.status.as_ref().is_some_and(|(asked, ..)| *asked == id)
    }

    /// Hands an answer to the app.
    pub fn answer(
        &mut self,
        id: RequestId,
        done: bool,
        body: Response,
        session: &mut Session,
        app: &mut App,
    ) {
        if let Some(path) = self.bases.remove(&id) {
            // An error (a hidden file, no repository) means no gutter, quietly.
            let base = request::answer::<GitBase>(body).ok().flatten();
            app.set_git_base(&path, base);
            self.send_queued(session);
            return;
        }
        let Some((_, picker, changes)) = self.status.as_mut() else {
            return;
        };
        match request::answer::<GitStatus>(body) {
            Ok(Some(batch)) => {
                changes.extend(batch.changes);
                if done {
                    let changes = std::mem::take(changes);
                    let picker = *picker;
                    self.status = None;
                    app.set_git_status(batch.branch, changes, picker);
                }
            }
            Ok(None) => {
                let picker = *picker;
                self.status = None;
                app.not_a_repository(picker);
            }
            Err(error) => {
                let picker = *picker;
                self.status = None;
                if picker {
                    app.message(
                        crate::tui::status::Level::Error,
                        format!("git status: {error}"),
                    );
                }
            }
        }
    }

    /// Requests in flight died with the connection: they are asked again by the loop.
    pub fn forget(&mut self) {
        self.status = None;
        self.bases.clear();
        self.queued.clear();
    }
}
