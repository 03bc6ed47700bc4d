//! systemd integration without libsystemd: readiness, watchdog pings and stopping notices over
//! `$NOTIFY_SOCKET` (sd_notify protocol). All calls are no-ops when not run by systemd.

use sd_notify::NotifyState;
use std::time::Duration;

fn send(state: &[NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Asks systemd for `by` more start-up time (a long migration must not hit `TimeoutStartSec`).
pub fn extend_start(by: Duration, status: &str) {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    send(&[
        NotifyState::ExtendTimeoutUsec(usec),
        NotifyState::Status(status),
    ]);
}

/// Makes `pid` (a child of this process) the service's main process; accepted because this one is
/// the main process (`NotifyAccess=main`).
pub fn main_pid(pid: u32) {
    send(&[
        NotifyState::MainPid(pid),
        NotifyState::Status("handing over to the next version"),
    ]);
}

/// A status line for `systemctl status`, nothing else.
pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn watchdog_ping() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping: half the interval systemd expects, when it expects any.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}
