//! The watch tasks that fill the caches: one per core kind, one per served foreign kind, and the
//! discovery loop. Watches retry with the watcher's default backoff and never end on errors.

use std::hash::Hash;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::Config;
use super::cache::{Cached, Caches, ForeignCache, KindCache};
use super::foreign;
use super::kinds::Kind;

/// Starts every watch of the core kinds and the discovery of the foreign ones.
pub fn spawn(client: Client, caches: Arc<Caches>, config: &Config, shutdown: CancellationToken) {
    spawn_core(client.clone(), caches.clone(), Kind::MCPGroup, |c| &c.groups, shutdown.clone());
    spawn_core(client.clone(), caches.clone(), Kind::MCPServerEntry, |c| &c.entries, shutdown.clone());
    spawn_core(client.clone(), caches.clone(), Kind::ConfigMap, |c| &c.config_maps, shutdown.clone());
    spawn_core(client.clone(), caches.clone(), Kind::Secret, |c| &c.secrets, shutdown.clone());
    tokio::spawn(foreign::run(client, caches, config.discovery_interval, shutdown));
}

fn spawn_core<K>(
    client: Client,
    caches: Arc<Caches>,
    kind: Kind,
    cache: fn(&Caches) -> &KindCache<K>,
    shutdown: CancellationToken,
) where
    K: Cached<DynamicType = ()>,
{
    let api: Api<K> = Api::all(client);
    tokio::spawn(async move {
        let watch = feed(api, kind, &caches, cache(&caches));
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = watch => {}
        }
    });
}

/// Starts the watch of a foreign kind; aborted when its CRD goes away.
pub fn spawn_foreign(
    client: Client,
    caches: Arc<Caches>,
    kind: Kind,
    foreign: Arc<ForeignCache>,
    shutdown: CancellationToken,
) -> AbortHandle {
    let api = Api::all_with(client, &foreign.resource);
    tokio::spawn(async move {
        let watch = feed(api, kind, &caches, &foreign.cache);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = watch => {}
        }
    })
    .abort_handle()
}

async fn feed<K>(api: Api<K>, kind: Kind, caches: &Caches, target: &KindCache<K>)
where
    K: Cached,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let events = watcher(api, watcher::Config::default()).default_backoff().modify(move |obj: &mut K| obj.prune(kind));
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => caches.apply(kind, target, &event),
            Err(error) => {
                tracing::debug!(kind = kind.name(), error = %error, "watch error");
                caches.watch_error(kind, &error);
            }
        }
    }
}
