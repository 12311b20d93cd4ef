//! The reference index: which cached object names which other object of its namespace.
//!
//! It answers both directions in time proportional to the answer: the members of a group (the
//! objects whose `spec.groupRef` names it, already sorted) and the entries that reference a
//! ConfigMap, Secret or auth config. Because it remembers each referrer's previous targets, a
//! member that moves to another group or is deleted tells which group it left.

use std::collections::{HashMap, HashSet};

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

    /// The key of `target`, which this referrer points at in its own namespace.
    fn of_target(&self, target: &Target) -> ObjKey {
        ObjKey { kind: target.kind, namespace: self.namespace.clone(), name: target.name.clone() }
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
    /// Target (kind, namespace, name) → referrers (kind, name), sorted. A sorted list rather than
    /// a B-tree set: most targets have a single referrer (a child its owner), and a B-tree's first
    /// node has room for eleven (some 380 bytes for one name).
    reverse: HashMap<ObjKey, Vec<(Kind, String)>>,
}

/// Where `(kind, name)` is in the sorted `referrers`, or where it would go.
fn position(referrers: &[(Kind, String)], kind: Kind, name: &str) -> Result<usize, usize> {
    referrers.binary_search_by(|(k, n)| k.cmp(&kind).then_with(|| n.as_str().cmp(name)))
}

impl RefIndex {
    /// Records the references of `referrer`; returns the ones it had before (empty if new).
    pub fn set(&mut self, referrer: ObjKey, mut targets: Vec<Target>) -> Vec<Target> {
        targets.sort();
        targets.dedup();
        if self.forward.get(&referrer) == Some(&targets) {
            // Most changes (a status write) keep the references: the lists stay as they are,
            // which in a group of thousands saves moving half of its list out and back.
            return targets;
        }
        let previous = self.remove(&referrer);
        for target in &targets {
            let key = referrer.of_target(target);
            let referrers = self.referrers_mut(key);
            if let Err(at) = position(referrers, referrer.kind, &referrer.name) {
                referrers.insert(at, (referrer.kind, referrer.name.clone()));
            }
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
            let key = referrer.of_target(target);
            if let Some(referrers) = self.reverse.get_mut(&key) {
                if let Ok(at) = position(referrers, referrer.kind, &referrer.name) {
                    referrers.remove(at);
                }
                if referrers.is_empty() {
                    self.reverse.remove(&key);
                }
            }
        }
        previous
    }

    /// Replaces every referrer of `kind` at once (after a re-list). The referrers come in any
    /// order, so the lists they join are sorted once at the end, not kept sorted per insert (a
    /// group with thousands of members would move half its list for each).
    pub fn replace_kind(&mut self, kind: Kind, referrers: impl IntoIterator<Item = (ObjKey, Vec<Target>)>) {
        self.remove_kind(kind);
        let mut joined = HashSet::new();
        for (referrer, mut targets) in referrers {
            targets.sort();
            targets.dedup();
            for target in &targets {
                let key = referrer.of_target(target);
                self.referrers_mut(key.clone()).push((kind, referrer.name.clone()));
                joined.insert(key);
            }
            if !targets.is_empty() {
                self.forward.insert(referrer, targets);
            }
        }
        for key in joined {
            if let Some(list) = self.reverse.get_mut(&key) {
                list.sort_unstable();
                list.shrink_to_fit();
            }
        }
    }

    /// The referrers of `target`, made with room for one if it has none: most targets never get
    /// a second referrer (a `Vec`'s first push reserves four).
    fn referrers_mut(&mut self, target: ObjKey) -> &mut Vec<(Kind, String)> {
        self.reverse.entry(target).or_insert_with(|| Vec::with_capacity(1))
    }

    /// Forgets every referrer of `kind` (its CRD went away, or it is re-listed).
    pub fn remove_kind(&mut self, kind: Kind) {
        self.forward.retain(|key, _| key.kind != kind);
        self.reverse.retain(|_, referrers| {
            referrers.retain(|(k, _)| *k != kind);
            !referrers.is_empty()
        });
    }

    /// Every object referencing `target`, as (kind, name), sorted by kind and then name.
    pub fn referrers(&self, target: &ObjKey) -> impl Iterator<Item = (Kind, &str)> {
        self.reverse.get(target).into_iter().flatten().map(|(kind, name)| (*kind, name.as_str()))
    }

    /// The names of the `kind` objects referencing `target`, sorted.
    pub fn referrers_of_kind<'a>(&'a self, target: &ObjKey, kind: Kind) -> impl Iterator<Item = &'a str> + 'a {
        let referrers = self.reverse.get(target).map_or(&[][..], Vec::as_slice);
        let start = referrers.partition_point(|(k, _)| *k < kind);
        referrers[start..].iter().take_while(move |(k, _)| *k == kind).map(|(_, name)| name.as_str())
    }

    /// How many objects reference `target`.
    pub fn referrer_count(&self, target: &ObjKey) -> usize {
        self.reverse.get(target).map_or(0, Vec::len)
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
        assert_eq!(index.set(key.clone(), vec![group("a")]), vec![group("a")], "unchanged");
        assert_eq!(members(&index, "ns", "a", Kind::MCPServer), ["srv"]);
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
    fn a_relist_in_any_order_keeps_referrers_sorted_by_kind_and_name() {
        let mut index = RefIndex::default();
        index.set(ObjKey::new(Kind::MCPServer, "ns", "m"), vec![group("g")]);
        let listed = ["d", "b", "e", "a", "c"].map(|n| (ObjKey::new(Kind::MCPServerEntry, "ns", n), vec![group("g")]));
        index.replace_kind(Kind::MCPServerEntry, listed);
        index.set(ObjKey::new(Kind::MCPServerEntry, "ns", "bb"), vec![group("g")]);
        index.set(ObjKey::new(Kind::MCPServer, "ns", "a"), vec![group("g")]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServerEntry), ["a", "b", "bb", "c", "d", "e"]);
        assert_eq!(members(&index, "ns", "g", Kind::MCPServer), ["a", "m"]);
        let all: Vec<_> = index.referrers(&ObjKey::new(Kind::MCPGroup, "ns", "g")).collect();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        index.remove(&ObjKey::new(Kind::MCPServerEntry, "ns", "c"));
        assert_eq!(members(&index, "ns", "g", Kind::MCPServerEntry), ["a", "b", "bb", "d", "e"]);
        assert_eq!(index.referrer_count(&ObjKey::new(Kind::MCPGroup, "ns", "g")), 7);
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
