//! The informer caches: one reflector store per kind, the reference index over them, the health
//! of every watch, and the triggers that turn a change into reconciles.
//!
//! The caches run on every replica, leader or not: the webhooks' referential warnings read them
//! through [`ClusterView`], and the controllers (leader only) read nothing else.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::ResourceExt;
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::index::{ObjKey, RefIndex, Target, changed_targets};
use super::keys::{ConfigMapKeys, SecretKeys};
use super::kinds::{Controlled, Kind};
use super::live::Live;
use super::metrics::{ControllerMetrics, KindLabels};
use super::queue::{Queues, Stores};
use crate::admission::{ClusterView, READ_ANNOTATIONS};
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

/// A member kind whose watch failed this recently (twice in a row) counts as unreadable.
pub const ERROR_WINDOW: Duration = Duration::from_secs(60);
/// How long a newly watched kind may take to list before it counts as unreadable.
pub const SYNC_GRACE: Duration = Duration::from_secs(30);
/// Longest watch error text kept for a condition message.
const MAX_ERROR_TEXT: usize = 300;

/// What the caches need of every cached type.
pub trait Cached: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static
where
    Self::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    /// The objects of its namespace this one references (indexed both ways).
    fn references(&self, _kind: Kind) -> Vec<Target> {
        Vec::new()
    }
    /// A digest of what objects referencing this one depend on; a change re-reconciles them.
    fn seen_by_referrers(&self, _kind: Kind) -> u64 {
        digest(&self.meta().resource_version)
    }
    /// Drops what no reader needs before the object is stored: by default what a ToolHive object
    /// does not need ([`prune_toolhive_metadata`]).
    fn prune(&mut self, _kind: Kind) {
        prune_toolhive_metadata(self);
    }
}

pub fn digest(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Managed fields and the last-applied annotation: large, and never read.
pub fn prune_metadata<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// Labels and every annotation no rule reads (all but [`READ_ANNOTATIONS`]): the controllers and
/// the checks they run never look at them, and with two small maps an object's metadata takes
/// about 1 KB more in the cache. Managed fields are left to the caller.
pub fn prune_labels_and_annotations(meta: &mut ObjectMeta) {
    meta.labels = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.retain(|key, _| READ_ANNOTATIONS.contains(&key.as_str()));
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// What a ToolHive object (one of ours or of the Go operator) keeps of its metadata.
pub fn prune_toolhive_metadata<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    prune_labels_and_annotations(obj.meta_mut());
}

/// The store of one kind and the writer that feeds it.
pub struct KindCache<K: Cached>
where
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    store: Store<K>,
    writer: Mutex<Writer<K>>,
    dyntype: K::DynamicType,
}

impl<K: Cached> KindCache<K>
where
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    pub fn new(dyntype: K::DynamicType) -> Self {
        let writer = Writer::new(dyntype.clone());
        KindCache { store: writer.as_reader(), writer: Mutex::new(writer), dyntype }
    }

    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectRef::new_with(name, self.dyntype.clone()).within(namespace))
    }
}

/// A kind of the Go operator, cached while its CRD is served.
pub struct ForeignCache {
    pub resource: ApiResource,
    pub cache: KindCache<DynamicObject>,
}

/// How far a kind's cache can be trusted right now.
#[derive(Clone, Debug, PartialEq)]
pub enum Readable {
    /// Its CRD is not served: no objects, references to it are not found.
    Absent,
    Ready,
    /// Listing for the first time; ask again after `retry_in`.
    Syncing {
        retry_in: Duration,
    },
    /// Its watch keeps failing (or never listed): what it holds may be stale or missing.
    Failed {
        message: String,
        retry_in: Duration,
    },
}

#[derive(Clone, Debug)]
struct Health {
    present: bool,
    synced: bool,
    /// When the kind started being watched.
    since: Instant,
    consecutive_errors: u32,
    last_error: Option<(Instant, String)>,
}

impl Health {
    fn watched(now: Instant) -> Self {
        Health { present: true, synced: false, since: now, consecutive_errors: 0, last_error: None }
    }

    fn failing(&self, now: Instant) -> Option<(&str, Duration)> {
        let (at, text) = self.last_error.as_ref()?;
        let age = now.saturating_duration_since(*at);
        (self.consecutive_errors >= 2 && age < ERROR_WINDOW).then(|| (text.as_str(), ERROR_WINDOW - age))
    }

    fn readable(&self, kind: Kind, now: Instant) -> Readable {
        if !self.present {
            return Readable::Absent;
        }
        if let Some((text, retry_in)) = self.failing(now) {
            return Readable::Failed { message: format!("cannot read {}: {text}", kind.plural()), retry_in };
        }
        if !self.synced {
            let waited = now.saturating_duration_since(self.since);
            if waited < SYNC_GRACE {
                return Readable::Syncing { retry_in: SYNC_GRACE - waited };
            }
            return Readable::Failed {
                message: format!("cannot read {}: not listed after {} s", kind.plural(), waited.as_secs()),
                retry_in: Duration::from_secs(10),
            };
        }
        Readable::Ready
    }

    /// Settled for readiness: listed, or failing (which the statuses report).
    fn settled(&self, now: Instant) -> bool {
        !self.present || self.synced || self.failing(now).is_some()
    }
}

/// Core kinds: always watched, and readiness waits for them.
pub(crate) const CORE: [Kind; 12] = Kind::CORE;

/// Every cache, the index and the triggers.
pub struct Caches {
    pub groups: KindCache<MCPGroup>,
    pub entries: KindCache<MCPServerEntry>,
    pub config_maps: KindCache<ConfigMapKeys>,
    pub secrets: KindCache<SecretKeys>,
    pub vmcps: KindCache<VirtualMCPServer>,
    pub registries: KindCache<MCPRegistry>,
    /// Children of the workload kinds (labelled as managed by this operator).
    pub deployments: KindCache<Live<Deployment>>,
    pub services: KindCache<Live<Service>>,
    pub service_accounts: KindCache<Live<ServiceAccount>>,
    pub roles: KindCache<Live<Role>>,
    pub role_bindings: KindCache<Live<RoleBinding>>,
    pub child_config_maps: KindCache<Live<ConfigMap>>,
    foreign: RwLock<HashMap<Kind, Arc<ForeignCache>>>,
    index: RwLock<RefIndex>,
    health: Mutex<HashMap<Kind, Health>>,
    /// Whether the first discovery of the optional kinds has finished.
    discovered: Mutex<bool>,
    synced: watch::Sender<bool>,
    /// Asks discovery to probe again now (a foreign watch failed; its CRD may be gone).
    pub(crate) reprobe: Notify,
    pub queues: Queues,
    metrics: ControllerMetrics,
}

impl Caches {
    pub fn new(metrics: ControllerMetrics) -> Arc<Self> {
        let now = Instant::now();
        let groups = KindCache::new(());
        let entries = KindCache::new(());
        let vmcps = KindCache::new(());
        let registries = KindCache::new(());
        let stores = Stores {
            groups: groups.store().clone(),
            entries: entries.store().clone(),
            vmcps: vmcps.store().clone(),
            registries: registries.store().clone(),
        };
        let queues = Queues::new(stores, &metrics);
        Arc::new(Caches {
            groups,
            entries,
            config_maps: KindCache::new(()),
            secrets: KindCache::new(()),
            vmcps,
            registries,
            deployments: KindCache::new(()),
            services: KindCache::new(()),
            service_accounts: KindCache::new(()),
            roles: KindCache::new(()),
            role_bindings: KindCache::new(()),
            child_config_maps: KindCache::new(()),
            foreign: RwLock::default(),
            index: RwLock::default(),
            health: Mutex::new(CORE.into_iter().map(|k| (k, Health::watched(now))).collect()),
            discovered: Mutex::new(false),
            synced: watch::Sender::new(false),
            reprobe: Notify::new(),
            queues,
            metrics,
        })
    }

    /// Becomes true once every cache has listed (and stays true): the readiness signal.
    pub fn synced(&self) -> watch::Receiver<bool> {
        self.synced.subscribe()
    }

    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    pub fn readable(&self, kind: Kind) -> Readable {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.get(&kind).map_or(Readable::Absent, |h| h.readable(kind, Instant::now()))
    }

    pub fn foreign(&self, kind: Kind) -> Option<Arc<ForeignCache>> {
        self.foreign.read().unwrap_or_else(|e| e.into_inner()).get(&kind).cloned()
    }

    /// A foreign object, if its kind is served and the object is cached.
    pub fn foreign_object(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<DynamicObject>> {
        self.foreign(kind)?.cache.get(namespace, name)
    }

    /// Names of the `kind` objects in `namespace` whose `spec.groupRef` is `group`, sorted.
    pub fn members(&self, namespace: &str, group: &str, kind: Kind) -> Vec<String> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        index.referrers_of_kind(&ObjKey::new(Kind::MCPGroup, namespace, group), kind).map(str::to_string).collect()
    }

    /// Starts caching a foreign kind (its CRD appeared); the caller starts the watch.
    pub(crate) fn add_foreign(&self, kind: Kind, resource: ApiResource) -> Arc<ForeignCache> {
        let cache = Arc::new(ForeignCache { cache: KindCache::new(resource.clone()), resource });
        self.foreign.write().unwrap_or_else(|e| e.into_inner()).insert(kind, cache.clone());
        self.lock_health().insert(kind, Health::watched(Instant::now()));
        self.update_synced();
        cache
    }

    /// Forgets a foreign kind (its CRD went away): its objects and references are gone.
    pub(crate) fn remove_foreign(&self, kind: Kind) {
        self.foreign.write().unwrap_or_else(|e| e.into_inner()).remove(&kind);
        self.index.write().unwrap_or_else(|e| e.into_inner()).remove_kind(kind);
        self.lock_health().remove(&kind);
        self.metrics.cached_objects.get_or_create(&KindLabels { kind: kind.name() }).set(0);
        self.queues.reconcile_all(kind.dependents());
        self.update_synced();
    }

    /// The first discovery has finished: absent foreign kinds are known to be absent.
    pub(crate) fn set_discovered(&self) {
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.update_synced();
    }

    /// Feeds one watch event of `kind` into its cache, the index and the triggers.
    pub fn apply<K: Cached>(&self, kind: Kind, cache: &KindCache<K>, event: &watcher::Event<K>)
    where
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        // A foreign kind's watch may still deliver an event after its CRD was dropped (or
        // re-added at another version): only the current cache may touch the index. The read
        // guard keeps `remove_foreign` from interleaving.
        let foreign = self.foreign.read().unwrap_or_else(|e| e.into_inner());
        if kind.is_foreign() && !foreign.get(&kind).is_some_and(|f| same_cache(&f.cache, cache)) {
            return;
        }
        let before = match event {
            watcher::Event::Apply(obj) | watcher::Event::Delete(obj) => {
                cache.store.get(&ObjectRef::from_obj_with(obj, cache.dyntype.clone()))
            }
            _ => None,
        };
        cache.writer.lock().unwrap_or_else(|e| e.into_inner()).apply_watcher_event(event);
        match event {
            watcher::Event::Apply(obj) => {
                self.watch_ok(kind);
                self.changed(kind, before.as_deref(), Some(obj));
            }
            watcher::Event::Delete(obj) => {
                self.watch_ok(kind);
                self.changed(kind, before.as_deref().or(Some(obj)), None);
            }
            watcher::Event::Init | watcher::Event::InitApply(_) => {}
            watcher::Event::InitDone => self.listed(kind, cache),
        }
        self.metrics.cached_objects.get_or_create(&KindLabels { kind: kind.name() }).set(cache.store.len() as i64);
        drop(foreign);
    }

    /// Records a failed watch call of `kind`.
    pub fn watch_error(&self, kind: Kind, error: &watcher::Error) {
        self.metrics.watch_errors.get_or_create(&KindLabels { kind: kind.name() }).inc();
        let mut text = error.to_string();
        if text.len() > MAX_ERROR_TEXT {
            let cut = (0..=MAX_ERROR_TEXT).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text.truncate(cut);
            text.push('…');
        }
        let became_failing = {
            let mut health = self.lock_health();
            let Some(h) = health.get_mut(&kind) else { return };
            h.consecutive_errors += 1;
            h.last_error = Some((Instant::now(), text));
            h.consecutive_errors == 2
        };
        if became_failing {
            tracing::warn!(kind = kind.name(), error = %error, "watch keeps failing; the kind counts as unreadable");
            self.queues.reconcile_all(kind.dependents());
            self.update_synced();
        }
        if kind.is_foreign() {
            self.reprobe.notify_one();
        }
    }

    fn watch_ok(&self, kind: Kind) {
        let recovered = {
            let mut health = self.lock_health();
            let Some(h) = health.get_mut(&kind) else { return };
            let was_failing = h.consecutive_errors >= 2;
            h.consecutive_errors = 0;
            was_failing
        };
        if recovered {
            tracing::info!(kind = kind.name(), "watch recovered");
            self.queues.reconcile_all(kind.dependents());
        }
    }

    fn listed<K: Cached>(&self, kind: Kind, cache: &KindCache<K>)
    where
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let referrers: Vec<(ObjKey, Vec<Target>)> = cache
            .store
            .state()
            .iter()
            .map(|obj| (key_of(kind, obj.as_ref()), obj.references(kind)))
            .filter(|(_, targets)| !targets.is_empty())
            .collect();
        self.index.write().unwrap_or_else(|e| e.into_inner()).replace_kind(kind, referrers);
        if let Some(h) = self.lock_health().get_mut(&kind) {
            h.synced = true;
            h.consecutive_errors = 0;
        }
        tracing::debug!(kind = kind.name(), objects = cache.store.len(), "cache listed");
        self.queues.reconcile_all(kind.dependents());
        self.update_synced();
    }

    /// One object changed (`after: None` = deleted): reconcile it, the groups it joined or left,
    /// and the objects that reference it if what they see of it changed.
    fn changed<K: Cached>(&self, kind: Kind, before: Option<&K>, after: Option<&K>)
    where
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let Some(any) = after.or(before) else { return };
        let key = key_of(kind, any);
        if let Some(controller) = Controlled::of(kind) {
            self.queues.push(controller, &key.namespace, &key.name);
        }
        let new_refs = after.map(|o| o.references(kind)).unwrap_or_default();
        let old_refs = {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            if new_refs.is_empty() { index.remove(&key) } else { index.set(key.clone(), new_refs.clone()) }
        };
        let moved = changed_targets(&old_refs, &new_refs);
        if Kind::MEMBERS.contains(&kind) {
            for target in moved.iter().filter(|t| t.kind == Kind::MCPGroup) {
                self.queues.push(Controlled::MCPGroup, &key.namespace, &target.name);
            }
        }
        let seen = |o: Option<&K>| o.map(|o| o.seen_by_referrers(kind));
        let visible = seen(before) != seen(after);
        if Kind::MEMBERS.contains(&kind) && (visible || !moved.is_empty()) {
            self.reconcile_group_users(&key.namespace, old_refs.iter().chain(&new_refs));
        }
        if !visible {
            return;
        }
        let referrers: Vec<(Kind, String)> = {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            index.referrers(&key).map(|(k, n)| (k, n.to_string())).collect()
        };
        for (referrer_kind, name) in referrers {
            if let Some(controller) = Controlled::of(referrer_kind) {
                self.queues.push(controller, &key.namespace, &name);
            }
        }
    }

    /// A member of these groups changed: the VirtualMCPServers fronting them see their backends.
    fn reconcile_group_users<'a>(&self, namespace: &str, targets: impl Iterator<Item = &'a Target>) {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let mut users = Vec::new();
        for target in targets.filter(|t| t.kind == Kind::MCPGroup) {
            let group = ObjKey::new(Kind::MCPGroup, namespace, &target.name);
            users.extend(index.referrers_of_kind(&group, Kind::VirtualMCPServer).map(str::to_string));
        }
        drop(index);
        users.sort();
        users.dedup();
        for name in users {
            self.queues.push(Controlled::VirtualMCPServer, namespace, &name);
        }
    }

    fn update_synced(&self) {
        if self.is_synced() {
            return;
        }
        let now = Instant::now();
        let discovered = *self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        let health = self.lock_health();
        let core = CORE.iter().all(|k| health.get(k).is_some_and(|h| h.synced));
        let foreign = health.iter().filter(|(k, _)| k.is_foreign()).all(|(_, h)| h.settled(now));
        drop(health);
        if core && discovered && foreign {
            tracing::info!("informer caches synced");
            self.synced.send_replace(true);
        }
    }

    fn lock_health(&self) -> std::sync::MutexGuard<'_, HashMap<Kind, Health>> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every member of a group as `Kind/name`, sorted; `None` if a member kind is unreadable.
    fn member_names(&self, namespace: &str, group: &str) -> Option<Vec<String>> {
        let mut all = Vec::new();
        for kind in Kind::MEMBERS {
            match self.readable(kind) {
                Readable::Absent => {}
                Readable::Ready => {
                    all.extend(self.members(namespace, group, kind).into_iter().map(|n| format!("{kind}/{n}")))
                }
                Readable::Syncing { .. } | Readable::Failed { .. } => return None,
            }
        }
        all.sort();
        Some(all)
    }
}

fn same_cache<A: Cached, B: Cached>(a: &KindCache<A>, b: &KindCache<B>) -> bool
where
    A::DynamicType: Eq + Hash + Clone + Send + Sync,
    B::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    std::ptr::eq((a as *const KindCache<A>).cast::<u8>(), (b as *const KindCache<B>).cast::<u8>())
}

fn key_of<K: Resource>(kind: Kind, obj: &K) -> ObjKey {
    ObjKey { kind, namespace: obj.namespace().unwrap_or_default(), name: obj.name_any() }
}

/// The webhooks' view of the cluster: nothing until the caches have synced.
impl ClusterView for Caches {
    fn group_exists(&self, namespace: &str, name: &str) -> Option<bool> {
        self.is_synced().then(|| self.groups.get(namespace, name).is_some())
    }

    fn group_members(&self, namespace: &str, name: &str) -> Option<Vec<String>> {
        if !self.is_synced() {
            return None;
        }
        self.member_names(namespace, name)
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
