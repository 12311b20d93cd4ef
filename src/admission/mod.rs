//! The admission rule engine: pure functions over `v1beta1` objects that produce findings.
//!
//! Each kind has a table of checks (`Check`), so dispatch is data rather than string matching, and
//! a panic in one check can be attributed to it. The same findings feed the webhook responses, the
//! offline `validate` command, the controllers' `Valid` conditions and the metrics.

mod direct;
pub mod duration;
pub mod engine;
pub mod finding;
pub mod headers;
pub mod mcpgroup;
pub mod mcpregistry;
pub mod mcpserverentry;
pub mod path;
pub mod refs;
pub mod remote_url;
pub mod review;
mod typed;
pub mod virtualmcpserver;

pub use engine::{AdmissionKind, Decision, Operation, Request, decide};
pub use finding::{Finding, Findings, Reason, Severity};
pub use remote_url::RemoteUrlPolicy;

use std::cell::OnceCell;
use std::ops::Range;

use compact_str::CompactString;

/// What the engine knows about the cluster, read from the controllers' informer caches.
///
/// Referential checks only ever warn, and are skipped when no cache is available, so admission
/// never depends on the API server being reachable.
pub trait ClusterView: Send + Sync {
    /// Whether the MCPGroup exists; `None` when the cache cannot tell (no cluster, not synced).
    fn group_exists(&self, namespace: &str, name: &str) -> Option<bool>;
    /// Members of the group as `Kind/name`, sorted; `None` when the cache cannot tell.
    fn group_members(&self, namespace: &str, name: &str) -> Option<Vec<String>>;
}

/// The annotations some rule reads through [`Context::annotations`]: the direct path keeps only
/// these (the others are checked and dropped), so a rule that reads another must list it here.
pub(crate) const READ_ANNOTATIONS: [&str; 1] = [virtualmcpserver::CONVERSION_ANNOTATION];

/// Whether `text` has more than `max` characters. A string has at most as many characters as
/// bytes, so most are settled by their length without counting.
pub(crate) fn more_chars_than(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().count() > max
}

/// The view used without a cluster: knows nothing, so referential warnings are skipped.
pub struct NoCluster;

impl ClusterView for NoCluster {
    fn group_exists(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
    fn group_members(&self, _: &str, _: &str) -> Option<Vec<String>> {
        None
    }
}

/// A view that becomes available after the server starts (the controllers' caches connect in the
/// background); until then it knows nothing, like [`NoCluster`].
#[derive(Default)]
pub struct LateClusterView {
    inner: std::sync::OnceLock<std::sync::Arc<dyn ClusterView>>,
}

impl LateClusterView {
    /// Installs the real view; later calls are ignored.
    pub fn set(&self, view: std::sync::Arc<dyn ClusterView>) {
        let _ = self.inner.set(view);
    }
}

impl ClusterView for LateClusterView {
    fn group_exists(&self, namespace: &str, name: &str) -> Option<bool> {
        self.inner.get()?.group_exists(namespace, name)
    }
    fn group_members(&self, namespace: &str, name: &str) -> Option<Vec<String>> {
        self.inner.get()?.group_members(namespace, name)
    }
}

/// Everything a check may consult besides the object itself.
pub struct Context<'a> {
    pub operation: Operation,
    /// Namespace the object lives in; references must stay inside it.
    pub namespace: &'a str,
    pub name: &'a str,
    pub policy: &'a RemoteUrlPolicy,
    pub cluster: &'a dyn ClusterView,
    /// `metadata.annotations` of the object (the conversion annotation tells what `v1alpha1` said).
    /// On the direct path only those listed in `READ_ANNOTATIONS` are kept.
    pub annotations: Option<&'a std::collections::BTreeMap<String, String>>,
    /// The object as the request carried it, for values the typed model drops (legacy shapes that
    /// conversion carries over unchanged); `None` where no JSON is at hand.
    pub raw: Option<RawObject<'a>>,
}

/// The object as the request carried it.
#[derive(Clone, Copy, Debug)]
pub enum RawObject<'a> {
    /// The whole object, parsed.
    Value(&'a serde_json::Value),
    /// The JSON text of the object's `spec`: the direct path reads no `Value`, and keeps only the
    /// part the rules look in.
    Spec(&'a SpecText<'a>),
}

impl RawObject<'_> {
    /// Whether the object has a value (`null` included) at `path` (in the style of
    /// [`path::field`]). Only paths under `spec` can be found in [`RawObject::Spec`].
    pub fn has(self, path: &str) -> bool {
        match self {
            RawObject::Value(root) => path::lookup(root, path).is_some(),
            RawObject::Spec(spec) => match path.strip_prefix("spec") {
                Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => spec.has(rest),
                _ => false,
            },
        }
    }
}

/// A member of a spec: its key and where its value lies in the spec's text.
type Member = (CompactString, Range<usize>);

/// The JSON text of an object's `spec`, already checked as JSON, and where its members are. Those
/// are noted as the direct path reads the spec (through serde); otherwise the text is scanned for
/// them on the first lookup.
#[derive(Debug)]
pub struct SpecText<'a> {
    text: &'a str,
    /// Where each member's key starts and where its value lies, as noted while reading.
    noted: Option<Vec<(usize, Range<usize>)>>,
    /// Each member's key and where its value lies in `text` (positions rather than slices keep
    /// `SpecText` covariant, so a `Context` borrowing it can be shortened); `None` when the spec is
    /// not an object.
    members: OnceCell<Option<Vec<Member>>>,
}

impl<'a> SpecText<'a> {
    /// The spec's text, and where its members are if that was noted while reading it.
    pub fn new(text: &'a str, noted: Option<Vec<(usize, Range<usize>)>>) -> Self {
        SpecText { text, noted, members: OnceCell::new() }
    }

    /// Where the members of the JSON object `text` are, noted as the direct path notes them while
    /// it reads a spec (for benchmarks and tests of the rules alone); `None` when `text` is not a
    /// JSON object.
    pub fn noted_members(text: &str) -> Option<Vec<(usize, Range<usize>)>> {
        crate::json::read_str::<crate::json::Spanned<serde_json::Value>>(text).ok()?.members
    }

    /// Whether the spec has a value at `path`, relative to the spec (`""`, `.a.b`, `[k][0]`).
    fn has(&self, path: &str) -> bool {
        let steps = path::segments(path);
        let Some((first, rest)) = steps.split_first() else { return true };
        let members = self.members.get_or_init(|| match &self.noted {
            Some(noted) => {
                noted.iter().map(|(key, at)| Some((crate::json::key_at(self.text, *key)?.into(), at.clone()))).collect()
            }
            None => {
                let mut members = Vec::new();
                crate::json::members(self.text, |key, at| members.push((key.into(), at))).map(|()| members)
            }
        });
        let Some(members) = members else { return path::follow_text(self.text, &steps).is_some() };
        // In an object a name and a bracketed key both name a member; the last of a repeated key
        // counts, as in a `Value`.
        let (path::Segment::Name(name) | path::Segment::Bracket(name)) = *first;
        let member = members.iter().rev().find(|(key, _)| key == name);
        let value = member.and_then(|(_, at)| self.text.get(at.clone()));
        value.is_some_and(|value| path::follow_text(value, rest).is_some())
    }
}

/// One named check of a kind: `(id, function)`. The id names the check in a denial if it panics.
pub type Check<T> = (&'static str, fn(&T, &Context, &mut Findings));
