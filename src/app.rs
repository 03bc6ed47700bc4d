//! The application state handed to every request handler and background task; no global singletons.

use crate::auth::services::AuthServices;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::instances::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// Shared with the background tasks, which take it (not the whole state).
    pub registry: Arc<Registry>,
    pub clock: SharedClock,
    pub auth: Arc<AuthServices>,
    /// Refused requests counted per address and minute until they are written to the log.
    pub refusals: crate::audit::refusals::Refusals,
    /// Requests by route and status and their latency, for the Prometheus endpoint.
    pub requests: crate::metrics::RequestMetrics,
    /// Every page's and mail's words, in each language, parsed once.
    pub catalogue: Arc<crate::i18n::Catalogue>,
    /// True between "storage open and listener bound" and "shutdown began".
    ready: AtomicBool,
    /// Random per start (also in run.json): tells one server process from the next, so that an
    /// update can see which of two servers on the same sockets answered.
    boot_id: std::sync::OnceLock<String>,
}

impl AppState {
    pub fn new(
        config: Config,
        registry: Registry,
        clock: SharedClock,
        auth: Arc<AuthServices>,
    ) -> Self {
        let catalogue = auth.catalogue.clone();
        Self(Arc::new(Inner {
            config,
            registry: Arc::new(registry),
            clock,
            auth,
            refusals: Default::default(),
            requests: Default::default(),
            catalogue,
            ready: AtomicBool::new(false),
            boot_id: std::sync::OnceLock::new(),
        }))
    }

    pub fn set_ready(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::SeqCst)
    }

    /// Set once, by `serve`, before anything answers.
    pub fn set_boot_id(&self, id: String) {
        let _ = self.0.boot_id.set(id);
    }

    pub fn boot_id(&self) -> Option<&str> {
        self.0.boot_id.get().map(String::as_str)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
