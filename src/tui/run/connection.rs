//! The loop's connection: a driver to poll and send through, or a reconnect in progress
//! that owns it across turns of the loop (see the module comment of `run`).

use std::future::Future;
use std::pin::Pin;

use crate::client::driver::{Driver, DriverEvent};
use crate::client::session::Session;
use crate::protocol::control::ToRelay;

type Reconnect = Pin<Box<dyn Future<Output = (Driver, DriverEvent)>>>;

/// The connection: a driver we may poll and send through, or a reconnect in progress
/// that owns it until it is done (see the module comment).
pub(super) struct Connection {
    pub(super) driver: Option<Driver>,
    pub(super) reconnect: Option<Reconnect>,
}

impl Connection {
    pub(super) fn new(driver: Driver) -> Self {
        Self {
            driver: Some(driver),
            reconnect: None,
        }
    }

    /// The next driver event; safe to drop at any await point and call again.
    pub(super) async fn next(&mut self) -> DriverEvent {
        if self.reconnect.is_none()
            && let Some(driver) = self.driver.take_if(|driver| !driver.is_connected())
        {
            let mut driver = driver;
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

    pub(super) async fn flush(&mut self, session: &mut Session) {
        if let Some(driver) = &mut self.driver {
            driver.flush(session).await;
        }
    }

    pub(super) async fn control(&mut self, message: &ToRelay) {
        if let Some(driver) = &self.driver {
            driver.control(message).await;
        }
    }
}
