//! The reference index: which cached object names which other object of its namespace.
//!
//! It answers both directions in time proportional to the answer: the members of a group (the
//! objects whose `spec.groupRef` names it, already sorted) and the entries that reference a
//! ConfigMap, Secret or auth config. Because it remembers each referrer's previous targets, a
//! member that moves to another group or is deleted tells which group it left.

use std::collections::{BTreeSet, HashMap};

use super::kinds::Kind;

/// An object in the caches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        ObjKey { kind, namespace: namespace.to_string(), name: name.to_string() }
    }
}

/// What a referrer points at, in its own namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub kind: Kind,
    pub name: String,
}

impl Target {
    pub fn new(kind: Kind, name: &str) -> Self {
        Target { kind, name: name.to_string() }
    }
}

#[derive(Debug, Default)]
pub struct RefIndex {
    forward: HashMap<ObjKey, Vec<Target>>,
    /// Target (kind, namespace, name) → referrers (kind, name), sorted.
    reverse: HashMap<ObjKey, BTreeSet<(Kind, String)>>,
}

impl RefIndex {
    /// Records the references of `referrer`; returns the ones it had before (empty if new).
    pub fn set(&mut self, referrer: ObjKey, mut targets: Vec<Target>) -> Vec<Target> {
        targets.sort();
        targets.dedup();
        let previous = self.remove(&referrer);
        for target in &targets {
            let key = ObjKey { kind: target.kind, namespace: referrer.namespace.clone(), name: target.name.clone() };
            self.reverse.entry(key).or_default().insert((referrer.kind, referrer.name.clone()));
        }
        if !targets.is_empty() {
            self.forward.insert(referrer, targets);
        }
        previous
    }

    /// Forgets `referrer`; returns the references it had.
    pub fn remove(&mut self, referrer: &ObjKey) -> Vec<Target> {
        let previous = self.forward.remove(referrer).unwrap_or_default();
        for target in &previous {
            let key = ObjKey { kind: target.kind, namespace: referrer.namespace.clone(), name: target.name.clone() };
            if let Some(set) = self.reverse.get_mut(&key) {
                set.remove(&(referrer.kind, referrer.name.clone()));
                if set.is_empty() {
                    self.reverse.remove(&key);
                }
            }
        }
        previous
    }

    /// Replaces every referrer of `kind` at once (after a re-list).
    pub fn replace_kind(&mut self, kind: Kind, referrers: impl IntoIterator<Item = (ObjKey, Vec<Target>)>) {
        self.remove_kind(kind);
        for (key, targets) in referrers {
            self.set(key, targets);
        }
    }

    /// Forgets every referrer of `kind` (its CRD went away).
    pub fn remove_kind(&mut self, kind: Kind) {
        let stale: Vec<ObjKey> = self.forward.keys().filter(|k| k.kind == kind).cloned().collect();
        for key in stale {
            self.remove(&key);
        }
    }

    /// Every object referencing `target`, as (kind, name), sorted by kind and then name.
    pub fn referrers(&self, target: &ObjKey) -> impl Iterator<Item = (Kind, &str)> {
        self.reverse.get(target).into_iter().flatten().map(|(kind, name)| (*kind, name.as_str()))
    }

    /// The names of the `kind` objects referencing `target`, sorted.
    pub fn referrers_of_kind<'a>(&'a self, target: &ObjKey, kind: Kind) -> impl Iterator<Item = &'a str> + 'a {
        self.reverse
            .get(target)
            .into_iter()
            .flat_map(move |set| set.range((kind, String::new())..).take_while(move |(k, _)| *k == kind))
            .map(|(_, name)| name.as_str())
    }

    /// How many objects reference `target`.
    pub fn referrer_count(&self, target: &ObjKey) -> usize {
        self.reverse.get(target).map_or(0, BTreeSet::len)
    }
}

/// Targets in exactly one of `a` and `b` (both sorted): what a change of references affects.
pub fn changed_targets<'a>(a: &'a [Target], b: &'a [Target]) -> Vec<&'a Target> {
    let mut out: Vec<&Target> =
        a.iter().filter(|t| !b.contains(t)).chain(b.iter().filter(|t| !a.contains(t))).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str) -> Target {
        Target::new(Kind::MCPGroup, name)
    }

    fn members(index: &RefIndex, ns: &str, g: &str, kind: Kind) -> Vec<String> {
        index.referrers_of_kind(&ObjKey::new(Kind::MCPGroup, ns, g), kind).map(str::to_string).collect()
    }

    #[test]
    fn members_are_found_by_group_and_kind_sorted() {
        let mut index = RefIndex::default();
        for name in ["zeta", "alpha", "mid"] {
            index.set(ObjKey::new(Kind::MCPServerEntry, "ns", name), vec![group("g")]);
        }
        index.set(ObjKey::new(Kind::MCPServer, "ns", "srv"), vec![group("g")]);
        index.set(ObjKey::new(Kind::MCPServer, "other", "srv2"), vec![group("g")]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServerEntry), ["alpha", "mid", "zeta"]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServer), ["srv"]);
        assert!(members(&index, "ns", "g", Kind::MCPRemoteProxy).is_empty());
        assert_eq!(members(&index, "other", "g", Kind::MCPServer), ["srv2"]);
    }

    #[test]
    fn moving_a_member_reports_the_group_it_left() {
        let mut index = RefIndex::default();
        let key = ObjKey::new(Kind::MCPServer, "ns", "srv");
        assert!(index.set(key.clone(), vec![group("a")]).is_empty());
        let before = index.set(key.clone(), vec![group("b")]);
        assert_eq!(before, vec![group("a")]);
        assert_eq!(changed_targets(&before, &[group("b")]), vec![&group("a"), &group("b")]);
        assert!(members(&index, "ns", "a", Kind::MCPServer).is_empty());
        assert_eq!(members(&index, "ns", "b", Kind::MCPServer), ["srv"]);
        assert_eq!(index.remove(&key), vec![group("b")]);
        assert_eq!(index.referrer_count(&ObjKey::new(Kind::MCPGroup, "ns", "b")), 0);
    }

    #[test]
    fn unchanged_references_affect_nothing() {
        let refs = vec![group("a"), Target::new(Kind::Secret, "s")];
        assert!(changed_targets(&refs, &refs).is_empty());
    }

    #[test]
    fn replacing_a_kind_drops_members_that_vanished_during_a_relist() {
        let mut index = RefIndex::default();
        index.set(ObjKey::new(Kind::MCPServer, "ns", "gone"), vec![group("g")]);
        index.set(ObjKey::new(Kind::MCPServerEntry, "ns", "kept"), vec![group("g")]);
        index.replace_kind(Kind::MCPServer, [(ObjKey::new(Kind::MCPServer, "ns", "new"), vec![group("g")])]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServer), ["new"]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServerEntry), ["kept"]);
        index.remove_kind(Kind::MCPServer);
        assert!(members(&index, "ns", "g", Kind::MCPServer).is_empty());
    }

    #[test]
    fn referrers_of_a_secret_span_kinds() {
        let mut index = RefIndex::default();
        let secret = Target::new(Kind::Secret, "token");
        index.set(ObjKey::new(Kind::MCPServerEntry, "ns", "e1"), vec![secret.clone(), secret.clone()]);
        index.set(ObjKey::new(Kind::MCPServerEntry, "ns", "e2"), vec![secret]);
        let found: Vec<_> = index.referrers(&ObjKey::new(Kind::Secret, "ns", "token")).collect();
        assert_eq!(found, vec![(Kind::MCPServerEntry, "e1"), (Kind::MCPServerEntry, "e2")]);
    }
}
