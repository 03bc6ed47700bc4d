//! The egress gate's book (`egress::EgressLog`): refusals go into the security log as
//! `egress_refused` through the one audit writer, successful connections into
//! `egress_destinations` (since when, last success) for the integrations page — in the instance
//! the connection was for, or, for the appliance's own flows (mail relay, syslog), in every open
//! instance.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::json;

use super::{Actor, Entry, Event};
use crate::clock::{SharedClock, stamp};
use crate::egress::{Destination, EgressLog, Refusal};
use crate::instances::Instance;
use crate::storage::StorageError;
use crate::storage::egress::{self as store, SeenRow};

/// The instances the book may write to (the registry's current list, in the server).
pub type Instances = Arc<dyn Fn() -> Vec<Arc<Instance>> + Send + Sync>;

pub struct EgressBook {
    instances: Instances,
    clock: SharedClock,
}

impl EgressBook {
    pub fn new(instances: Instances, clock: SharedClock) -> EgressBook {
        EgressBook { instances, clock }
    }

    fn chosen(&self, instance: Option<&str>) -> Vec<Arc<Instance>> {
        (self.instances)()
            .into_iter()
            .filter(|i| instance.is_none_or(|n| n == i.name))
            .collect()
    }
}

impl EgressLog for EgressBook {
    fn refused<'a>(&'a self, refusal: Refusal) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let d = &refusal.destination;
            let target = d.to_string();
            let details = json!({ "flow": d.flow.as_str(), "host": d.host, "port": d.port });
            for inst in self.chosen(refusal.instance.as_deref()) {
                let now = self.clock.now();
                let (target, details) = (target.clone(), details.clone());
                let written = inst
                    .db
                    .write(move |tx| {
                        super::write(
                            tx,
                            now,
                            Entry::new(Event::EgressRefused, Actor::System, target, "-")
                                .with(details)
                                .failed(),
                        )
                    })
                    .await;
                if let Err(e) = written {
                    tracing::error!(instance = %inst.name, error = %e, "egress refusal could not be recorded");
                }
            }
        })
    }

    fn connected<'a>(
        &'a self,
        destination: &'a Destination,
        instance: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let (flow, shown) = (destination.flow.as_str(), destination.to_string());
            for inst in self.chosen(instance) {
                let now = stamp(self.clock.now());
                let shown = shown.clone();
                let written = inst
                    .db
                    .write(move |tx| store::connected(tx, flow, &shown, &now))
                    .await;
                if let Err(e) = written {
                    tracing::warn!(instance = %inst.name, error = %e, "egress connection could not be noted");
                }
            }
        })
    }
}

/// Notes, at start, that the appliance's configured destinations are in use (keeps the first date).
pub async fn note_configured(
    inst: &Instance,
    destinations: &[Destination],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StorageError> {
    let rows: Vec<(&'static str, String)> = destinations
        .iter()
        .map(|d| (d.flow.as_str(), d.to_string()))
        .collect();
    let now = stamp(now);
    inst.db
        .write(move |tx| {
            for (flow, dest) in &rows {
                store::seen(tx, flow, dest, &now)?;
            }
            Ok::<(), StorageError>(())
        })
        .await
}

/// Every destination the instance has used or had configured, with since when and last success.
pub async fn destinations(inst: &Instance) -> Result<Vec<SeenRow>, StorageError> {
    inst.db.read(store::all).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::{Destination, Egress, EgressError, Flow};
    use std::time::Duration;

    #[tokio::test]
    async fn an_unconfigured_destination_is_refused_and_in_the_security_log() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::crypto::Key256::generate().unwrap();
        let inst = Arc::new(
            crate::instances::create(
                dir.path(),
                &key,
                "default",
                &[],
                None,
                Default::default(),
                &crate::clock::SystemClock,
            )
            .unwrap(),
        );
        // A receiver on another loopback address that must never see a connection.
        let other = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = other.local_addr().unwrap().port();
        let list = Arc::clone(&inst);
        let log = EgressBook::new(
            Arc::new(move || vec![Arc::clone(&list)]),
            crate::clock::system(),
        );
        let egress = Egress::new(
            vec![Destination::new(Flow::Mail, "127.0.0.1", 2525)],
            Arc::new(log),
        );
        let want = Destination::new(Flow::Mail, "127.0.0.2", port);
        let r = egress
            .connect(&want, &[], None, Duration::from_secs(2))
            .await;
        assert!(matches!(r, Err(EgressError::Refused(_))));
        let seen = tokio::time::timeout(Duration::from_millis(100), other.accept()).await;
        assert!(seen.is_err(), "the refused destination was contacted");
        let rows = inst
            .db
            .read(|c| {
                crate::storage::audit::query(
                    c,
                    &crate::storage::audit::Filter {
                        events: vec!["egress_refused".into()],
                        limit: 10,
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].target, format!("127.0.0.2:{port}"));
        assert_eq!(rows[0].outcome, "failure");
        assert!(
            rows[0].details.contains("\"flow\":\"mail\""),
            "{}",
            rows[0].details
        );
        // Nothing was connected, so nothing is noted as a success.
        assert!(destinations(&inst).await.unwrap().is_empty());
    }
}
