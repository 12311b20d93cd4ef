//! Work queues between the caches and the controllers.
//!
//! The caches push the objects a change affects; a queue is open only while its controller runs
//! (on the leader), otherwise pushes are dropped: a new leader starts by reconciling everything.
//! The applier's scheduler deduplicates requests, so pushing an object twice is cheap.

use std::collections::HashSet;
use std::sync::Mutex;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::Resource;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use prometheus_client::metrics::gauge::Gauge;

use super::kinds::Controlled;
use super::metrics::{ControllerLabels, ControllerMetrics};
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

pub struct Queue<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    sender: Mutex<Option<UnboundedSender<ObjectRef<K>>>>,
    /// Objects pushed and not yet started, for the queue-depth gauge.
    pending: Mutex<HashSet<(String, String)>>,
    depth: Gauge,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Queue<K> {
    fn new(store: Store<K>, depth: Gauge) -> Self {
        Queue { store, sender: Mutex::new(None), pending: Mutex::default(), depth }
    }

    /// Asks for a reconcile of `namespace/name`; dropped while the controller is not running.
    pub fn push(&self, namespace: &str, name: &str) {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = sender.as_ref() else { return };
        if tx.unbounded_send(ObjectRef::new(name).within(namespace)).is_ok() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.insert((namespace.to_string(), name.to_string()));
            self.depth.set(pending.len() as i64);
        }
    }

    /// Asks for a reconcile of every cached object.
    pub fn push_all(&self) {
        if !self.is_open() {
            return;
        }
        for obj in self.store.state() {
            self.push(&obj.namespace().unwrap_or_default(), &obj.name_any());
        }
    }

    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    pub fn is_open(&self) -> bool {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Starts accepting pushes; the controller consumes the receiver.
    pub(crate) fn open(&self) -> UnboundedReceiver<ObjectRef<K>> {
        let (tx, rx) = unbounded();
        *self.sender.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// Stops accepting pushes; the controller drains and stops once the receiver ends.
    pub(crate) fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.depth.set(0);
    }

    /// A reconcile of `namespace/name` started, or the object is gone.
    pub(crate) fn taken(&self, namespace: &str, name: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.remove(&(namespace.to_string(), name.to_string())) {
            self.depth.set(pending.len() as i64);
        }
    }
}

/// One queue per controller.
pub struct Queues {
    pub groups: Queue<MCPGroup>,
    pub entries: Queue<MCPServerEntry>,
    pub vmcps: Queue<VirtualMCPServer>,
    pub registries: Queue<MCPRegistry>,
}

/// The stores the queues list from when everything is to be reconciled.
pub struct Stores {
    pub groups: Store<MCPGroup>,
    pub entries: Store<MCPServerEntry>,
    pub vmcps: Store<VirtualMCPServer>,
    pub registries: Store<MCPRegistry>,
}

impl Queues {
    pub fn new(stores: Stores, metrics: &ControllerMetrics) -> Self {
        let depth =
            |c: Controlled| metrics.queue_depth.get_or_create(&ControllerLabels { controller: c.name() }).clone();
        Queues {
            groups: Queue::new(stores.groups, depth(Controlled::MCPGroup)),
            entries: Queue::new(stores.entries, depth(Controlled::MCPServerEntry)),
            vmcps: Queue::new(stores.vmcps, depth(Controlled::VirtualMCPServer)),
            registries: Queue::new(stores.registries, depth(Controlled::MCPRegistry)),
        }
    }

    pub fn push(&self, controller: Controlled, namespace: &str, name: &str) {
        match controller {
            Controlled::MCPGroup => self.groups.push(namespace, name),
            Controlled::MCPServerEntry => self.entries.push(namespace, name),
            Controlled::VirtualMCPServer => self.vmcps.push(namespace, name),
            Controlled::MCPRegistry => self.registries.push(namespace, name),
        }
    }

    pub fn reconcile_all(&self, controllers: &[Controlled]) {
        for controller in controllers {
            match controller {
                Controlled::MCPGroup => self.groups.push_all(),
                Controlled::MCPServerEntry => self.entries.push_all(),
                Controlled::VirtualMCPServer => self.vmcps.push_all(),
                Controlled::MCPRegistry => self.registries.push_all(),
            }
        }
    }

    pub fn is_open(&self, controller: Controlled) -> bool {
        match controller {
            Controlled::MCPGroup => self.groups.is_open(),
            Controlled::MCPServerEntry => self.entries.is_open(),
            Controlled::VirtualMCPServer => self.vmcps.is_open(),
            Controlled::MCPRegistry => self.registries.is_open(),
        }
    }

    pub(crate) fn close_all(&self) {
        self.groups.close();
        self.entries.close();
        self.vmcps.close();
        self.registries.close();
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher::Event;

    use super::*;
    use crate::api::v1beta1::MCPGroupSpec;

    fn group(ns: &str, name: &str) -> MCPGroup {
        let mut g = MCPGroup::new(name, MCPGroupSpec::default());
        g.metadata.namespace = Some(ns.into());
        g
    }

    #[tokio::test]
    async fn pushes_reach_the_controller_only_while_the_queue_is_open() {
        let metrics = ControllerMetrics::default();
        let mut writer = Writer::<MCPGroup>::default();
        for e in [Event::Init, Event::InitApply(group("ns", "a")), Event::InitApply(group("ns", "b")), Event::InitDone]
        {
            writer.apply_watcher_event(&e);
        }
        let stores = Stores {
            groups: writer.as_reader(),
            entries: Writer::<MCPServerEntry>::default().as_reader(),
            vmcps: Writer::<VirtualMCPServer>::default().as_reader(),
            registries: Writer::<MCPRegistry>::default().as_reader(),
        };
        let queues = Queues::new(stores, &metrics);
        queues.push(Controlled::MCPGroup, "ns", "dropped");
        queues.reconcile_all(&[Controlled::MCPGroup]);
        let mut rx = queues.groups.open();
        queues.push(Controlled::MCPGroup, "ns", "x");
        queues.reconcile_all(&[Controlled::MCPGroup]);
        let depth = metrics.queue_depth.get_or_create(&ControllerLabels { controller: "mcpgroup" }).get();
        assert_eq!(depth, 3);
        queues.groups.taken("ns", "x");
        queues.groups.close();
        let mut got: Vec<String> = Vec::new();
        while let Some(r) = rx.next().await {
            got.push(r.name);
        }
        got[1..].sort();
        assert_eq!(got, ["x", "a", "b"]);
        assert_eq!(metrics.queue_depth.get_or_create(&ControllerLabels { controller: "mcpgroup" }).get(), 0);
    }
}
