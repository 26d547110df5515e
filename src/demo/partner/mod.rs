//! Ada, the scripted partner of `cotype demo`: a real participant who joins over the relay
//! and plays examples/demo-project/SCRIPT.md — opens files, moves, selects and types the
//! fix — so that a newcomer sees another person working in the session.
//!
//! She is driven like any participant (a `Session` and a `Driver`, her presence through
//! `client::presence::OwnPresence`), so what the user sees is exactly what a human
//! partner would produce. The user may edit
//! the same files meanwhile: positions are carried through their edits, and a step that
//! no longer fits the document is clamped to the nearest place instead of failing.

use std::fmt;
use std::time::Duration;

use rand::RngExt;
use ropey::Rope;
use tokio::time::Instant;

use crate::client::driver::{Driver, apply};
use crate::client::presence::{OwnPresence, View};
use crate::client::session::{Session, SessionEvent};
use crate::client::{ClientError, HOST_TIMEOUT};
use crate::link::Link;
use crate::protocol::HOST_ID;
use crate::text::{Assoc, LineCol, Operation, position};

/// Typing speed: about twelve characters a second, a relaxed human pace.
const TYPING_INTERVAL: Duration = Duration::from_millis(83);
/// Each keystroke's delay varies by up to this fraction, so typing does not look mechanical.
const TYPING_JITTER: f64 = 0.4;
/// Lines kept above the cursor when `open` or `move` scroll the view to it.
const SCROLL_CONTEXT: usize = 8;
/// Lines assumed visible: a selection whose head leaves them scrolls the view.
const VIEW_LINES: usize = 30;

/// A 1-based line and column, as SCRIPT.md writes them and the status line shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptPosition {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for ScriptPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Open(String),
    Move(ScriptPosition),
    /// Anchor, then head.
    Select(ScriptPosition, ScriptPosition),
    Type(String),
    Wait(Duration),
    /// Selects the first occurrence of the text in the open file; where it is not there
    /// (someone changed it), the rest of the task is skipped.
    Find(String),
    /// The steps after it repeat until the session ends.
    Loop,
    /// A new task begins: one task period after the previous one began.
    Task,
}

/// A step and the line of SCRIPT.md it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptStep {
    pub line: usize,
    pub step: Step,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("the script has no ``` block of steps; put the steps between two ``` lines")]
    NoBlock,
    #[error("the script's ``` block starting on line {0} is never closed")]
    Unclosed(usize),
    #[error("script line {line}: {message}")]
    Step { line: usize, message: String },
    #[error("script line {0}: the steps after `loop` must start with `task`")]
    LoopWithoutTask(usize),
}

/// The partner's script: the steps inside the first fenced block of SCRIPT.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub steps: Vec<ScriptStep>,
}

impl Script {
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let opening = lines
            .by_ref()
            .find(|(_, l)| l.trim_start().starts_with("```"))
            .map(|(number, _)| number)
            .ok_or(ScriptError::NoBlock)?;
        let mut steps: Vec<ScriptStep> = Vec::new();
        for (number, line) in lines {
            // Only leading space goes: trailing space may be text to type.
            let line = line.trim_start();
            if line.starts_with("```") {
                // Each round of the loop waits for its task's turn, so it never spins.
                if let Some(at) = steps.iter().position(|s| s.step == Step::Loop)
                    && steps.get(at + 1).map(|s| &s.step) != Some(&Step::Task)
                {
                    return Err(ScriptError::LoopWithoutTask(steps[at].line));
                }
                return Ok(Script { steps });
            }
            if line.trim_end().is_empty() || line.starts_with('#') {
                continue;
            }
            let step = parse_step(line).map_err(|message| ScriptError::Step {
                line: number,
                message,
            })?;
            steps.push(ScriptStep { line: number, step });
        }
        Err(ScriptError::Unclosed(opening))
    }
}

fn parse_step(line: &str) -> Result<Step, String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line.trim_end(), ""));
    let argument = rest.trim();
    let needs_argument = |what: &str| {
        if argument.is_empty() {
            Err(format!("`{verb}` needs {what}"))
        } else {
            Ok(argument)
        }
    };
    match verb {
        "open" => Ok(Step::Open(needs_argument("a path")?.to_string())),
        "move" => Ok(Step::Move(parse_position(needs_argument("LINE:COL")?)?)),
        "select" => {
            let range = needs_argument("LINE:COL-LINE:COL")?;
            let (anchor, head) = range
                .split_once('-')
                .ok_or_else(|| format!("`{range}` is not LINE:COL-LINE:COL"))?;
            Ok(Step::Select(parse_position(anchor)?, parse_position(head)?))
        }
        // Everything after `type ` is typed, spaces included.
        "type" => {
            needs_argument("the text to type")?;
            Ok(Step::Type(rest.to_string()))
        }
        // Everything after `find ` is looked for, spaces included.
        "find" => {
            needs_argument("the text to find")?;
            Ok(Step::Find(rest.to_string()))
        }
        "loop" => Ok(Step::Loop),
        "task" => Ok(Step::Task),
        "wait" => {
            let ms = needs_argument("milliseconds")?;
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("`{ms}` is not a number of milliseconds"))?;
            Ok(Step::Wait(Duration::from_millis(ms)))
        }
        other => Err(format!(
            "unknown step `{other}`; the steps are open, move, select, find, type, wait, loop \
             and task"
        )),
    }
}

fn parse_position(text: &str) -> Result<ScriptPosition, String> {
    let invalid = || format!("`{text}` is not LINE:COL (both counted from 1)");
    let (line, col) = text.trim().split_once(':').ok_or_else(invalid)?;
    let line: usize = line.parse().map_err(|_| invalid())?;
    let col: usize = col.parse().map_err(|_| invalid())?;
    if line == 0 || col == 0 {
        return Err(invalid());
    }
    Ok(ScriptPosition { line, col })
}

/// The char index of a script position in `rope`, clamped into the document (the user
/// may have changed it); logs at debug when it had to be clamped.
pub fn char_index(rope: &Rope, at: ScriptPosition) -> usize {
    let zero_based = LineCol {
        line: at.line - 1,
        col: at.col - 1,
    };
    let index = position::line_col_to_char(rope, zero_based);
    if position::char_to_line_col(rope, index) != zero_based {
        tracing::debug!(
            "demo partner: {at} is outside the document as it is now; using the nearest place"
        );
    }
    index
}

/// How often Ada starts a new task once the bug is fixed: often enough that someone who
/// arrives late soon sees her type.
pub const TASK_PERIOD: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct PartnerOptions {
    pub name: String,
    /// 1.0 plays the script at its written pace; 10.0 ten times faster (tests).
    pub speed: f64,
    /// Time from the start of one task of the script's loop to the next (not scaled by
    /// `speed`; `cotype demo` reads it from COTYPE_DEMO_TASK_SECONDS).
    pub task_period: Duration,
}

impl Default for PartnerOptions {
    fn default() -> Self {
        PartnerOptions {
            name: "Ada".into(),
            speed: 1.0,
            task_period: TASK_PERIOD,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("the demo partner could not join: {0}")]
    Join(ClientError),
    #[error("the demo partner lost the session: {0}")]
    Lost(ClientError),
    #[error(transparent)]
    Script(#[from] ScriptError),
}

/// Ada, joined and ready to play.
pub struct Partner {
    session: Session,
    driver: Driver,
    presence: OwnPresence,
    script: Script,
    speed: f64,
    task_period: Duration,
    /// The document she looks at, and her selection in it (char indices).
    path: Option<String>,
    anchor: usize,
    head: usize,
    scroll_line: usize,
}

impl Partner {
    /// Joins the session. She does not move until `play`.
    pub async fn join(link: &Link, options: &PartnerOptions) -> Result<Partner, PartnerError> {
        let script = Script::parse(super::project::SCRIPT)?;
        let (driver, session) = Driver::join(link, &options.name)
            .await
            .map_err(PartnerError::Join)?;
        Ok(Partner {
            session,
            driver,
            presence: OwnPresence::default(),
            script,
            speed: options.speed.max(0.01),
            task_period: options.task_period,
            path: None,
            anchor: 0,
            head: 0,
            scroll_line: 0,
        })
    }

    pub fn id(&self) -> crate::protocol::ParticipantId {
        self.session.me.participant
    }

    /// Waits for someone to watch and plays the script: the steps before its `loop`
    /// once (finding and fixing the bug), then the steps after it again and again, one
    /// small task per task period, so that whoever arrives later still sees her work.
    ///
    /// The loop's tasks find their text rather than go to fixed places, and together they
    /// end where they began (the list's order goes round), so they can repeat for as long
    /// as the session lasts; a task whose text someone changed is skipped.
    pub async fn play(mut self) -> Result<(), PartnerError> {
        self.wait_for_company().await?;
        let mut steps = std::mem::take(&mut self.script.steps);
        let repeated = match steps.iter().position(|s| s.step == Step::Loop) {
            Some(at) => steps.split_off(at + 1),
            None => Vec::new(),
        };
        // The first task starts one period after the fix.
        let mut task_began = Instant::now();
        self.play_steps(&steps, &mut task_began).await?;
        tracing::debug!("demo partner: the script's first part is done");
        if repeated.is_empty() {
            loop {
                self.pump_for(Duration::from_secs(3600)).await?;
            }
        }
        loop {
            self.play_steps(&repeated, &mut task_began).await?;
        }
    }

    async fn play_steps(
        &mut self,
        steps: &[ScriptStep],
        task_began: &mut Instant,
    ) -> Result<(), PartnerError> {
        let mut skipping = false;
        for ScriptStep { line, step } in steps {
            match step {
                Step::Task => {
                    skipping = false;
                    let next = *task_began + self.task_period;
                    self.pump_for(next.saturating_duration_since(Instant::now()))
                        .await?;
                    self.wait_for_company().await?;
                    *task_began = Instant::now();
                }
                _ if skipping => continue,
                Step::Loop => {}
                step => {
                    tracing::debug!("demo partner: script line {line}: {step:?}");
                    if self.step(step.clone()).await? == Done::SkipTask {
                        tracing::debug!("demo partner: skipping the rest of the task");
                        skipping = true;
                    }
                }
            }
        }
        Ok(())
    }

    async fn wait_for_company(&mut self) -> Result<(), PartnerError> {
        let me = self.id();
        while !self
            .session
            .members
            .keys()
            .any(|&p| p != me && p != HOST_ID)
        {
            self.pump_once(None).await?;
        }
        Ok(())
    }

    async fn step(&mut self, step: Step) -> Result<Done, PartnerError> {
        match step {
            Step::Find(text) => {
                let found = self.rope().and_then(|rope| {
                    let start = rope.to_string().find(&text)?;
                    let start = rope.byte_to_char(start);
                    Some((start, start + text.chars().count()))
                });
                let Some((anchor, head)) = found else {
                    tracing::debug!("demo partner: {text:?} is not in the file (any more)");
                    return Ok(Done::SkipTask);
                };
                (self.anchor, self.head) = (anchor, head);
                self.keep_head_in_view();
                self.presence_changed().await;
            }
            Step::Loop | Step::Task => {}
            Step::Wait(duration) => self.pump_for(self.scaled(duration)).await?,
            Step::Open(path) => self.open(&path).await?,
            Step::Move(at) => {
                if let Some(rope) = self.rope() {
                    let index = char_index(rope, at);
                    self.anchor = index;
                    self.head = index;
                    self.scroll_to_head();
                    self.presence_changed().await;
                }
            }
            Step::Select(anchor, head) => {
                if let Some(rope) = self.rope() {
                    (self.anchor, self.head) = (char_index(rope, anchor), char_index(rope, head));
                    self.keep_head_in_view();
                    self.presence_changed().await;
                }
            }
            Step::Type(text) => self.type_text(&text).await?,
        }
        Ok(Done::Next)
    }

    fn rope(&self) -> Option<&Rope> {
        let path = self.path.as_ref()?;
        let rope = self.session.documents.get(path).map(|d| &d.rope);
        if rope.is_none() {
            tracing::debug!("demo partner: {path} is not open; skipping the step");
        }
        rope
    }

    async fn open(&mut self, path: &str) -> Result<(), PartnerError> {
        self.path = Some(path.to_string());
        self.anchor = 0;
        self.head = 0;
        self.scroll_line = 0;
        if !self.session.documents.contains_key(path) {
            self.session.open_document(path);
            let deadline = Instant::now() + HOST_TIMEOUT;
            while !self.session.documents.contains_key(path) {
                let failed = Instant::now() >= deadline
                    || self.pump_once(Some(deadline)).await? == Pumped::OpenFailed;
                if failed {
                    // The user may have deleted or hidden it: she shows no file and the
                    // steps up to her next `open` are skipped.
                    tracing::debug!("demo partner: cannot open {path}; skipping to the next open");
                    self.path = None;
                    break;
                }
            }
        }
        self.presence_changed().await;
        Ok(())
    }

    /// Replaces the selection with `text`, one character at a time, then saves.
    async fn type_text(&mut self, text: &str) -> Result<(), PartnerError> {
        let mut buffer = [0u8; 4];
        for character in text.chars() {
            let Some(path) = self.path.clone() else {
                return Ok(());
            };
            let Some(rope) = self.rope() else {
                return Ok(());
            };
            let length = rope.len_chars();
            let start = self.anchor.min(self.head).min(length);
            let end = self.anchor.max(self.head).min(length);
            let typed = character.encode_utf8(&mut buffer);
            let edit = Operation::replace(length, start..end, typed)
                .map_err(|e| e.to_string())
                .and_then(|op| {
                    self.session
                        .local_edit(&path, op)
                        .map_err(|e| e.to_string())
                });
            match edit {
                Ok(()) => {
                    self.anchor = start + 1;
                    self.head = start + 1;
                }
                Err(reason) => {
                    tracing::debug!("demo partner: cannot type in {path}: {reason}");
                    return Ok(());
                }
            }
            self.flush().await;
            self.presence_changed().await;
            let jitter = rand::rng().random_range(-TYPING_JITTER..=TYPING_JITTER);
            let delay = TYPING_INTERVAL.mul_f64(1.0 + jitter);
            self.pump_for(self.scaled(delay)).await?;
        }
        // She saves what she typed, as anyone would, so the fix is on disk and the
        // project's own tests (`cargo test` in the demo folder) see it.
        if let Some(path) = &self.path
            && self.session.documents.contains_key(path)
        {
            self.session.save(path);
            self.flush().await;
        }
        Ok(())
    }

    fn scaled(&self, duration: Duration) -> Duration {
        duration.div_f64(self.speed)
    }

    fn head_line(&self) -> usize {
        self.rope()
            .map(|rope| position::char_to_line_col(rope, self.head).line)
            .unwrap_or(0)
    }

    fn scroll_to_head(&mut self) {
        self.scroll_line = self.head_line().saturating_sub(SCROLL_CONTEXT);
    }

    fn keep_head_in_view(&mut self) {
        let line = self.head_line();
        if line < self.scroll_line || line >= self.scroll_line + VIEW_LINES {
            self.scroll_to_head();
        }
    }

    /// Her view changed: followers and everyone hear of it as `OwnPresence` paces it
    /// (and not before the host confirmed what she typed).
    async fn presence_changed(&mut self) {
        let view = self.path.clone().map(|path| View {
            path,
            selection: (self.anchor, self.head),
            extra_selections: Vec::new(),
            scroll_line: self.scroll_line,
            following: None,
        });
        self.presence.moved(view);
        self.send_presence().await;
    }

    async fn send_presence(&mut self) {
        self.presence
            .send_due(&mut self.session, Instant::now(), None, None);
        self.flush().await;
    }

    async fn flush(&mut self) {
        self.driver.flush(&mut self.session).await;
    }

    /// Stays responsive for `duration`: takes in what arrives meanwhile.
    async fn pump_for(&mut self, duration: Duration) -> Result<(), PartnerError> {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.pump_once(Some(deadline)).await?;
        }
        Ok(())
    }

    /// Takes in one thing from the network (or returns at `deadline`), keeping her
    /// selection where it was in the text as others' edits arrive.
    async fn pump_once(&mut self, deadline: Option<Instant>) -> Result<Pumped, PartnerError> {
        self.flush().await;
        let presence_due = self.presence.deadline(&self.session);
        let wake = match (deadline, presence_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // While the driver reconnects it sleeps and handshakes: a timeout would start that
        // over, so she waits for it (and stops typing meanwhile, as a person would).
        let event = match wake {
            Some(wake) if self.driver.is_connected() => {
                tokio::time::timeout_at(wake, self.driver.next()).await.ok()
            }
            _ => Some(self.driver.next().await),
        };
        let mut pumped = Pumped::Nothing;
        if let Some(event) = event
            && let Some(fatal) = apply(&mut self.session, event)
        {
            return Err(PartnerError::Lost(fatal));
        }
        let mut moved = false;
        while let Some(event) = self.session.next_event() {
            match event {
                SessionEvent::RemoteEdit { path, op, .. } if Some(&path) == self.path.as_ref() => {
                    let (low, high) = (self.anchor.min(self.head), self.anchor.max(self.head));
                    // The selection keeps exactly the text it covered: text inserted at
                    // either edge stays outside it.
                    let low = op.transform_position(low, Assoc::After);
                    let high = op.transform_position(high, Assoc::Before).max(low);
                    if self.anchor <= self.head {
                        (self.anchor, self.head) = (low, high);
                    } else {
                        (self.anchor, self.head) = (high, low);
                    }
                    moved = true;
                }
                SessionEvent::EditRefused { path, reason } => {
                    tracing::debug!("demo partner: the host reloaded {path}: {reason}");
                }
                SessionEvent::DocumentOpened { path } if Some(&path) == self.path.as_ref() => {
                    // Reopened after a refusal: the text may differ from what she had.
                    let length = self.session.documents[&path].rope.len_chars();
                    self.anchor = self.anchor.min(length);
                    self.head = self.head.min(length);
                    moved = true;
                }
                SessionEvent::Failed { what, message } => {
                    tracing::debug!("demo partner: {what} failed: {message}");
                    pumped = Pumped::OpenFailed;
                }
                // Newcomers (and everyone after a reconnect) learn where she is, once
                // she is somewhere: before her first file there is nothing to show.
                SessionEvent::MembersChanged if self.presence.view().is_some() => {
                    self.presence.tell_everyone()
                }
                _ => {}
            }
        }
        if moved {
            self.presence_changed().await;
        } else {
            self.send_presence().await;
        }
        Ok(pumped)
    }
}

/// After a step: go on, or skip to the next task (its text was not found).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    Next,
    SkipTask,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pumped {
    Nothing,
    OpenFailed,
}

#[cfg(test)]
mod tests;
