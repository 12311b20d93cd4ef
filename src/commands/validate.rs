//! `mcp-operator validate`: the admission rules, offline, over manifests.

use serde_json::{Value, json};

use super::documents::{Document, read_all};
use crate::admission::engine::{Mode, kind_for_name};
use crate::admission::{Finding, NoCluster, Operation, Request, Severity, decide};
use crate::api::crd::GROUP;
use crate::cli::{OutputFormat, ValidateArgs};
use crate::conversion::{self, ServedVersion};

/// The verdict on one document.
struct Verdict {
    location: String,
    kind: String,
    name: String,
    findings: Vec<Finding>,
    /// Why the document could not be evaluated at all.
    error: Option<String>,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<i32> {
    let documents = read_all(&args.files)?;
    let policy = args.policy.policy();
    let mut verdicts = Vec::new();
    let mut skipped = Vec::new();
    for doc in &documents {
        match evaluate(doc, &policy) {
            Some(verdict) => verdicts.push(verdict),
            None => skipped.push(doc),
        }
    }
    let denied = verdicts.iter().any(|v| v.error.is_some() || v.findings.iter().any(Finding::is_denial));
    match args.output {
        OutputFormat::Text => print_text(&verdicts, &skipped),
        OutputFormat::Json => print_json(&verdicts, &skipped)?,
    }
    Ok(i32::from(denied))
}

/// Runs the mutating defaults and then the validating rules, as the API server would on CREATE;
/// `None` for documents of other kinds.
fn evaluate(doc: &Document, policy: &crate::admission::RemoteUrlPolicy) -> Option<Verdict> {
    let api_version = doc.object["apiVersion"].as_str().unwrap_or_default();
    if api_version.split('/').next() != Some(GROUP) {
        return None;
    }
    let kind = kind_for_name(doc.kind())?;
    let mut verdict = Verdict {
        location: doc.location(),
        kind: doc.kind().into(),
        name: doc.name().into(),
        findings: Vec::new(),
        error: None,
    };
    // Rules see v1beta1, as behind the API server's conversion.
    let mut object = match conversion::convert(&doc.object, ServedVersion::V1beta1.api_version()) {
        Ok(object) => object,
        Err(err) => {
            verdict.error = Some(format!("cannot convert to v1beta1: {err}"));
            return Some(verdict);
        }
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
    let name = verdict.name.clone();
    let mutated = decide(kind, Mode::Mutate, &create(&namespace, &name, &object), policy, &NoCluster);
    if let Some(patch) = &mutated.patch
        && json_patch::patch(&mut object, patch).is_err()
    {
        verdict.error = Some("the mutating defaults do not apply".into());
        return Some(verdict);
    }
    verdict.findings = decide(kind, Mode::Validate, &create(&namespace, &name, &object), policy, &NoCluster).findings.0;
    Some(verdict)
}

fn create<'a>(namespace: &'a str, name: &'a str, object: &'a Value) -> Request<'a> {
    Request {
        operation: Operation::Create,
        namespace,
        name,
        object: Some(object),
        old_object: None,
        sub_resource: None,
    }
}

fn print_text(verdicts: &[Verdict], skipped: &[&Document]) {
    for doc in skipped {
        eprintln!("{}: skipped {} {:?} (not a toolhive.stacklok.dev kind)", doc.location(), doc.kind(), doc.name());
    }
    let (mut denials, mut warnings) = (0, 0);
    for v in verdicts {
        let subject = format!("{} {}/{}", v.location, v.kind, v.name);
        if let Some(error) = &v.error {
            denials += 1;
            println!("{subject}: error: {error}");
        }
        for f in &v.findings {
            let severity = if f.severity == Severity::Deny { "deny" } else { "warn" };
            match f.severity {
                Severity::Deny => denials += 1,
                Severity::Warn => warnings += 1,
            }
            let field = if f.field.is_empty() { "(object)" } else { f.field.as_str() };
            println!("{subject}: {severity} {field} [{}]: {}", f.rule, f.message);
        }
        if v.error.is_none() && v.findings.is_empty() {
            println!("{subject}: ok");
        }
    }
    println!(
        "{} document(s) checked, {} skipped: {denials} denial(s), {warnings} warning(s)",
        verdicts.len(),
        skipped.len()
    );
}

fn print_json(verdicts: &[Verdict], skipped: &[&Document]) -> anyhow::Result<()> {
    let results: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            let findings: Vec<Value> = v
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "rule": f.rule,
                        "field": f.field,
                        "severity": if f.severity == Severity::Deny { "deny" } else { "warn" },
                        "reason": f.reason.as_cause(),
                        "message": f.message,
                        "preExisting": f.pre_existing,
                    })
                })
                .collect();
            let (source, index) = v.location.rsplit_once('#').unwrap_or((&v.location, ""));
            json!({
                "file": source,
                "document": index.parse::<usize>().unwrap_or_default(),
                "kind": v.kind,
                "name": v.name,
                "allowed": v.error.is_none() && !v.findings.iter().any(Finding::is_denial),
                "error": v.error,
                "findings": findings,
            })
        })
        .collect();
    let skipped: Vec<Value> = skipped
        .iter()
        .map(|d| json!({ "file": d.source, "document": d.index, "kind": d.kind(), "name": d.name() }))
        .collect();
    println!("{}", serde_json::to_string_pretty(&json!({ "results": results, "skipped": skipped }))?);
    Ok(())
}
