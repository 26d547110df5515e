//! A participant's connection as a loop polls it: the driver to poll and send through, or
//! a reconnect in progress that owns the driver until it is done.
//!
//! `Driver::next` is cancel-safe while connected (it waits on a channel), but while it
//! reconnects it sleeps and handshakes, and a keystroke arriving every few milliseconds
//! would restart that forever if the future were dropped on every turn of a `select!`
//! loop. So a reconnect runs as a future that owns the driver and survives across turns.
//! The terminal UI's loop, the chaos test's typists and the cluster tests' typists all
//! poll their connection through this one type.

use std::future::Future;
use std::pin::Pin;

use crate::client::driver::{Driver, DriverEvent};
use crate::client::session::Session;
use crate::protocol::control::ToRelay;

type Reconnect = Pin<Box<dyn Future<Output = (Driver, DriverEvent)> + Send>>;

pub struct Connection {
    driver: Option<Driver>,
    reconnect: Option<Reconnect>,
}

impl Connection {
    pub fn new(driver: Driver) -> Self {
        Self {
            driver: Some(driver),
            reconnect: None,
        }
    }

    /// The next driver event; safe to drop at any await point and call again.
    pub async fn next(&mut self) -> DriverEvent {
        if self.reconnect.is_none()
            && let Some(mut driver) = self.driver.take_if(|driver| !driver.is_connected())
        {
            self.reconnect = Some(Box::pin(async move {
                let event = driver.next().await;
                (driver, event)
            }));
        }
        if let Some(reconnect) = &mut self.reconnect {
            let (driver, event) = reconnect.await;
            self.reconnect = None;
            self.driver = Some(driver);
            return event;
        }
        match &mut self.driver {
            Some(driver) => driver.next().await,
            None => std::future::pending().await,
        }
    }

    /// Sends what the session queued; nothing while a reconnect holds the driver (the
    /// session keeps it and resends after the reconnect).
    pub async fn flush(&mut self, session: &mut Session) {
        if let Some(driver) = &mut self.driver {
            driver.flush(session).await;
        }
    }

    pub async fn control(&mut self, message: &ToRelay) {
        if let Some(driver) = &self.driver {
            driver.control(message).await;
        }
    }

    /// Whether we hold the driver now: false while a reconnect runs, and once closed.
    pub fn is_ready(&self) -> bool {
        self.driver.is_some()
    }

    /// Gives up the connection for good (the session ended): `next` waits forever.
    pub fn close(&mut self) {
        self.driver = None;
        self.reconnect = None;
    }
}
