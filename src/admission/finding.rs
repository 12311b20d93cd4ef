//! One finding type for every consumer: webhook responses, the CLI, conditions and metrics.

use std::fmt;

/// Whether a finding blocks the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Deny,
    Warn,
}

/// The `reason` of a `status.details.causes[]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Required,
    Forbidden,
    Duplicate,
    Invalid,
}

impl Reason {
    pub fn as_cause(self) -> &'static str {
        match self {
            Reason::Required => "FieldValueRequired",
            Reason::Forbidden => "FieldValueForbidden",
            Reason::Duplicate => "FieldValueDuplicate",
            Reason::Invalid => "FieldValueInvalid",
        }
    }
}

/// A rule violation or a warning, at a field path.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    /// Field path, e.g. `spec.headerForward.addHeadersFromSecret[1].headerName`.
    pub field: String,
    pub severity: Severity,
    pub reason: Reason,
    /// What is wrong, without the field path or rule id.
    pub message: String,
    /// Further fields whose values the finding depends on (ratcheting compares all of them).
    pub also_depends_on: Vec<String>,
    /// A denial downgraded to a warning because the offending values predate this UPDATE.
    pub pre_existing: bool,
}

impl Finding {
    pub fn deny(rule: &'static str, field: impl Into<String>, reason: Reason, message: impl Into<String>) -> Self {
        Finding {
            rule,
            field: field.into(),
            severity: Severity::Deny,
            reason,
            message: message.into(),
            also_depends_on: Vec::new(),
            pre_existing: false,
        }
    }

    pub fn warn(rule: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { severity: Severity::Warn, ..Finding::deny(rule, field, Reason::Invalid, message) }
    }

    /// Declares further fields the finding depends on, for ratcheting.
    pub fn spanning(mut self, fields: impl IntoIterator<Item = String>) -> Self {
        self.also_depends_on.extend(fields);
        self
    }

    pub fn is_denial(&self) -> bool {
        self.severity == Severity::Deny
    }

    /// `<problem> [rule-id]`, the text of a cause (kubectl prints it after the field).
    pub fn cause_message(&self) -> String {
        let suffix = if self.pre_existing { " (pre-existing)" } else { "" };
        format!("{} [{}]{suffix}", self.message, self.rule)
    }
}

/// `<field path>: <problem> [rule-id]`, the form of warnings and of denial messages.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.cause_message())
    }
}

/// The findings of one evaluation, in the order the checks produced them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn push(&mut self, finding: Finding) {
        self.0.push(finding);
    }

    pub fn deny(&mut self, rule: &'static str, field: impl Into<String>, reason: Reason, message: impl Into<String>) {
        self.push(Finding::deny(rule, field, reason, message));
    }

    pub fn warn(&mut self, rule: &'static str, field: impl Into<String>, message: impl Into<String>) {
        self.push(Finding::warn(rule, field, message));
    }

    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| f.is_denial())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| !f.is_denial())
    }

    pub fn has_denials(&self) -> bool {
        self.0.iter().any(Finding::is_denial)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
