//! Composite tools (`spec.config.compositeTools`): workflows whose steps call backend tools, ask
//! the user, or loop; and references to shared definitions (`spec.config.compositeToolRefs`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::admission::Context;
use crate::admission::duration;
use crate::admission::finding::{Finding, Findings, Reason};
use crate::admission::path::{field, index};
use crate::admission::refs::REF_NAME;
use crate::api::v1beta1::VirtualMCPServerSpec;
use crate::api::v1beta1::virtualmcpserver::{CompositeTool, WorkflowStep};

use super::{check_reference, missing};

pub const STEP_TYPES: [&str; 3] = ["tool", "elicitation", "forEach"];

const RULE: &str = "vmcp.composite";
const TOOLS: &str = "spec.config.compositeTools";

pub(super) fn check_composite(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let Some(config) = &spec.config else { return };
    for (i, reference) in config.composite_tool_refs.iter().flatten().enumerate() {
        let path = index("spec.config.compositeToolRefs", i);
        let (name, namespace) = (reference.name.as_deref(), reference.namespace.as_deref());
        check_reference(name, namespace, &path, "VirtualMCPCompositeToolDefinition", REF_NAME, ctx, out);
    }
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    for (i, tool) in config.composite_tools.iter().flatten().enumerate() {
        let path = index(TOOLS, i);
        let name_path = field(&path, "name");
        match tool.name.as_deref().unwrap_or_default() {
            "" => out.push(missing(RULE, &name_path, &path, "the composite tool needs a name")),
            name => {
                if let Some(first) = names.get(name) {
                    out.push(
                        Finding::deny(
                            RULE,
                            &name_path,
                            Reason::Duplicate,
                            format!("composite tool {name:?} is already defined at {first}"),
                        )
                        .spanning([first.clone()]),
                    );
                } else {
                    names.insert(name, name_path);
                }
            }
        }
        check_tool(tool, &path, out);
    }
}

fn check_tool(tool: &CompositeTool, path: &str, out: &mut Findings) {
    if tool.description.as_deref().is_none_or(str::is_empty) {
        out.push(missing(
            RULE,
            field(path, "description"),
            path,
            "a description is required; clients show it to choose the tool",
        ));
    }
    check_timeout(tool.timeout.as_deref(), &field(path, "timeout"), out);
    if let Some(parameters) = &tool.parameters {
        check_parameters(parameters, &field(path, "parameters"), out);
    }
    let steps = tool.steps.as_deref().unwrap_or_default();
    let steps_path = field(path, "steps");
    if steps.is_empty() {
        out.push(missing(RULE, &steps_path, path, "a composite tool needs at least one step"));
        return;
    }
    // Position of the first step with each id; later duplicates are reported and not linked.
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, step) in steps.iter().enumerate() {
        let id_path = field(&index(&steps_path, j), "id");
        match step.id.as_deref().unwrap_or_default() {
            "" => out.push(missing(RULE, id_path, &index(&steps_path, j), "the step needs an id")),
            id => match ids.get(id) {
                Some(&first) => out.push(
                    Finding::deny(
                        RULE,
                        id_path,
                        Reason::Duplicate,
                        format!("step id {id:?} is already used by step {first}"),
                    )
                    .spanning([field(&index(&steps_path, first), "id")]),
                ),
                None => {
                    ids.insert(id, j);
                }
            },
        }
    }
    for (j, step) in steps.iter().enumerate() {
        check_step(step, &index(&steps_path, j), &ids, out);
    }
    check_cycles(steps, &steps_path, &ids, out);
}

/// The schema of a tool's input is a JSON Schema whose `type`, when given, is `object`.
fn check_parameters(parameters: &Value, path: &str, out: &mut Findings) {
    match parameters.get("type") {
        None => {}
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => out.deny(
            RULE,
            field(path, "type"),
            Reason::Invalid,
            format!("must be \"object\" (is {other}); a tool's arguments are always a JSON object"),
        ),
    }
}

fn check_step(step: &WorkflowStep, path: &str, ids: &BTreeMap<&str, usize>, out: &mut Findings) {
    let type_path = field(path, "type");
    match step.type_.as_deref().filter(|t| !t.is_empty()).unwrap_or("tool") {
        "tool" => check_tool_name(step.tool.as_deref(), &field(path, "tool"), path, out),
        "elicitation" if step.message.as_deref().is_none_or(str::is_empty) => out.push(missing(
            RULE,
            field(path, "message"),
            path,
            "an elicitation step needs the message shown to the user",
        )),
        "elicitation" | "forEach" => {}
        other => out.deny(
            RULE,
            type_path,
            Reason::Invalid,
            format!("unsupported step type {other:?}; use {}", STEP_TYPES.join(", ")),
        ),
    }
    for (k, dependency) in step.depends_on.iter().flatten().enumerate() {
        if !ids.contains_key(dependency.as_str()) {
            out.deny(
                RULE,
                index(&field(path, "dependsOn"), k),
                Reason::Invalid,
                format!("depends on unknown step {dependency:?}"),
            );
        }
    }
    check_timeout(step.timeout.as_deref(), &field(path, "timeout"), out);
    let Some(on_error) = &step.on_error else { return };
    let on_error_path = field(path, "onError");
    check_timeout(on_error.retry_delay.as_deref(), &field(&on_error_path, "retryDelay"), out);
    if on_error.action.as_deref() == Some("retry") && on_error.retry_count.is_none_or(|c| c < 1) {
        out.push(
            Finding::deny(
                RULE,
                field(&on_error_path, "retryCount"),
                Reason::Required,
                "action retry needs a retryCount of at least 1",
            )
            .spanning([field(&on_error_path, "action")]),
        );
    }
}

/// A tool step names its tool as `<backend>.<tool>`.
fn check_tool_name(tool: Option<&str>, path: &str, step_path: &str, out: &mut Findings) {
    let Some(tool) = tool.filter(|t| !t.is_empty()) else {
        out.push(missing(RULE, path, step_path, "a tool step needs the tool to call, as <backend>.<tool>"));
        return;
    };
    let well_formed = tool.split_once('.').is_some_and(|(backend, name)| !backend.is_empty() && !name.is_empty());
    if !well_formed {
        out.deny(
            RULE,
            path,
            Reason::Invalid,
            format!("{tool:?} must name the tool as <backend>.<tool>, such as github.create_issue"),
        );
    }
}

fn check_timeout(value: Option<&str>, path: &str, out: &mut Findings) {
    if let Some(problem) = value.and_then(duration::problem) {
        out.deny(RULE, path, Reason::Invalid, problem);
    }
}

/// Reports one dependency cycle among the steps, if there is one, at a step on it.
fn check_cycles(steps: &[WorkflowStep], steps_path: &str, ids: &BTreeMap<&str, usize>, out: &mut Findings) {
    let edges: Vec<Vec<usize>> = steps
        .iter()
        .map(|step| step.depends_on.iter().flatten().filter_map(|d| ids.get(d.as_str()).copied()).collect())
        .collect();
    const SHOWN: usize = 8;
    let Some(cycle) = find_cycle(&edges) else { return };
    let id = |j: usize| steps[j].id.as_deref().unwrap_or_default();
    let depends_on = |j: usize| field(&index(steps_path, j), "dependsOn");
    let message = match cycle.as_slice() {
        [only] => format!("step {:?} depends on itself", id(*only)),
        [first, rest @ ..] => {
            let mut chain: Vec<String> = rest.iter().take(SHOWN).map(|j| format!("{:?}", id(*j))).collect();
            if rest.len() > SHOWN {
                chain.push(format!("… ({} steps in all)", cycle.len()));
            }
            format!(
                "dependsOn forms a cycle: step {:?} depends on {}, which depends on {:?} again",
                id(*first),
                chain.join(", which depends on "),
                id(*first)
            )
        }
        [] => return,
    };
    out.push(
        Finding::deny(RULE, depends_on(cycle[0]), Reason::Invalid, message)
            .spanning(cycle[1..].iter().map(|j| depends_on(*j))),
    );
}

/// A cycle in the graph `edges` (step → the steps it depends on), as the steps along it in
/// dependency order; iterative, so a long chain of steps cannot overflow the stack.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // The current path, each step with the position of its next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&dependency) = edges[node].get(*next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match marks[dependency] {
                Mark::New => {
                    marks[dependency] = Mark::OnPath;
                    path.push((dependency, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|(n, _)| *n == dependency)?;
                    return Some(path[from..].iter().map(|(n, _)| *n).collect());
                }
                Mark::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn cycles_are_found_in_dependency_order() {
        assert_eq!(find_cycle(&[vec![], vec![0], vec![1, 0]]), None);
        assert_eq!(find_cycle(&[vec![0]]), Some(vec![0]));
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![0]]), Some(vec![0, 1, 2]));
        assert_eq!(find_cycle(&[vec![], vec![2], vec![3], vec![1]]), Some(vec![1, 2, 3]));
    }

    #[test]
    fn long_chains_do_not_overflow_the_stack() {
        let n = 200_000;
        let mut chain: Vec<Vec<usize>> = (0..n).map(|i| vec![i + 1]).collect();
        chain[n - 1] = vec![];
        assert_eq!(find_cycle(&chain), None);
        chain[n - 1] = vec![0];
        assert_eq!(find_cycle(&chain).map(|c| c.len()), Some(n));
    }
}
