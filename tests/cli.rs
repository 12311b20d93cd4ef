//! The command line as users run it: exit codes, output formats, and agreement between
//! `validate` and the webhook.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mcp-operator"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child =
        bin().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    child.wait_with_output().expect("output")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const BAD_ENTRY: &str = "apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServerEntry
metadata: {name: probe, namespace: team-a}
spec:
  remoteUrl: http://169.254.169.254/latest
  transport: sse
  groupRef: {name: tools}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
";

#[test]
fn validate_exits_0_for_valid_manifests_and_1_on_a_denial() {
    let ok = run(&["validate", "tests/data/seeds/mcpgroup.yaml", "tests/data/seeds/mcpserverentry.yaml"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let denied = run_stdin(&["validate", "-"], BAD_ENTRY);
    assert_eq!(denied.status.code(), Some(1));
    let text = stdout(&denied);
    assert!(text.contains("-#1 MCPServerEntry/probe: deny spec.remoteUrl [entry.url.blocked-host]"), "{text}");
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("-#2: skipped ConfigMap"),
        "other kinds are skipped with a note"
    );
}

#[test]
fn validate_json_output_names_file_document_field_and_rule() {
    let output = run_stdin(&["validate", "--output", "json", "-"], BAD_ENTRY);
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    let result = &report["results"][0];
    assert_eq!(result["file"], "-");
    assert_eq!(result["document"], 1);
    assert_eq!(result["kind"], "MCPServerEntry");
    assert_eq!(result["allowed"], false);
    let finding =
        result["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "entry.url.blocked-host");
    assert_eq!(finding.expect("finding")["field"], "spec.remoteUrl");
    assert_eq!(report["skipped"][0]["kind"], "ConfigMap");
}

#[test]
fn validate_converts_v1alpha1_legacy_shapes_first() {
    let legacy = "apiVersion: toolhive.stacklok.dev/v1alpha1
kind: MCPServerEntry
metadata: {name: old, namespace: team-a}
spec:
  remoteURL: https://mcp.example.com/sse
  transport: sse
  groupRef: tools
";
    let output = run_stdin(&["validate", "-"], legacy);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("MCPServerEntry/old: ok"));
}

#[test]
fn validate_applies_the_remote_url_policy_flags() {
    let private = BAD_ENTRY.replace("169.254.169.254", "10.1.2.3");
    assert_eq!(run_stdin(&["validate", "-"], &private).status.code(), Some(1));
    let allowed = run_stdin(&["validate", "--remote-url-allow-cidrs", "10.1.0.0/16", "-"], &private);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
}

#[test]
fn convert_round_trips_legacy_manifests() {
    let up = run(&["convert", "--to", "v1beta1", "tests/data/virtualmcpserver/v1alpha1-legacy.yaml"]);
    assert_eq!(up.status.code(), Some(0), "{}", String::from_utf8_lossy(&up.stderr));
    let v1beta1: Value = serde_norway::from_slice(&up.stdout).expect("yaml");
    assert_eq!(v1beta1["apiVersion"], "toolhive.stacklok.dev/v1beta1");
    assert_eq!(v1beta1["spec"]["groupRef"]["name"], "engineering-tools");
    let down = run_stdin(&["convert", "--to", "v1alpha1", "-"], &stdout(&up));
    let back: Value = serde_norway::from_slice(&down.stdout).expect("yaml");
    let original: Value = serde_norway::from_str(
        &std::fs::read_to_string("tests/data/virtualmcpserver/v1alpha1-legacy.yaml").expect("read"),
    )
    .expect("yaml");
    assert_eq!(back, original);
}

#[test]
fn user_errors_are_one_line_with_exit_code_2() {
    let missing = run(&["validate", "/nonexistent.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read /nonexistent.yaml"));
    assert_eq!(run(&["serve", "--no-such-flag"]).status.code(), Some(2));
    let no_workers = run(&["serve", "--webhook-workers", "0"]);
    assert_eq!(no_workers.status.code(), Some(2), "a listener needs at least one worker");
    assert!(String::from_utf8_lossy(&no_workers.stderr).contains("--webhook-workers"));
    assert_eq!(run(&["convert", "--to", "v2", "x"]).status.code(), Some(2));
}

#[test]
fn every_command_has_help_with_examples() {
    for command in ["serve", "validate", "convert", "install", "manifests", "crds", "certs"] {
        let output = run(&[command, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{command}");
        assert!(stdout(&output).contains("Examples:"), "{command} --help has no examples");
    }
}

#[test]
fn crds_prints_the_four_crds() {
    let text = stdout(&run(&["crds"]));
    assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 4);
}

/// `[rule-id]` suffixes of `texts`, sorted.
fn rule_ids<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut ids: Vec<String> = texts
        .filter_map(|t| {
            t.rsplit_once(" [").map(|(_, id)| id.trim_end_matches(" (pre-existing)").trim_end_matches(']').to_string())
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn validate_agrees_with_the_webhook_on_every_create_fixture() {
    let mut compared = 0;
    for dir in std::fs::read_dir("webhooks/admission").expect("fixtures").flatten() {
        for file in std::fs::read_dir(dir.path()).expect("kind").flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if !name.starts_with("create-") || !name.ends_with(".request.json") {
                continue;
            }
            let request: Value = serde_json::from_slice(&std::fs::read(file.path()).expect("read")).expect("json");
            let response_path = file.path().to_string_lossy().replace(".request.json", ".response.json");
            let response: Value = serde_json::from_slice(&std::fs::read(&response_path).expect("read")).expect("json");
            let object = serde_json::to_string(&request["request"]["object"]).expect("json");
            let output = run_stdin(&["validate", "--output", "json", "-"], &object);
            let report: Value = serde_json::from_slice(&output.stdout).expect("json report");
            let findings = report["results"][0]["findings"].as_array().cloned().unwrap_or_default();
            let mut cli_denied: Vec<String> = findings
                .iter()
                .filter(|f| f["severity"] == "deny")
                .filter_map(|f| f["rule"].as_str().map(String::from))
                .collect();
            cli_denied.sort();
            let causes = response["response"]["status"]["details"]["causes"].as_array().cloned().unwrap_or_default();
            let webhook_denied = rule_ids(causes.iter().filter_map(|c| c["message"].as_str()));
            assert_eq!(cli_denied, webhook_denied, "{name} in {}", dir.path().display());
            assert_eq!(output.status.code(), Some(i32::from(!webhook_denied.is_empty())), "{name}");
            compared += 1;
        }
    }
    assert!(compared >= 8, "only {compared} fixtures compared");
}

/// On a laptop `serve` logs a `curl` to try it with; asked for any free port (`:0`), it names the
/// port the listener got.
#[test]
fn serve_logs_an_example_with_the_port_it_listens_on() {
    let certs = std::env::temp_dir().join(format!("mcp-operator-cli-example-{}", std::process::id()));
    let cert_dir = certs.to_str().expect("a UTF-8 temp path");
    let mut child = bin()
        .args(["serve", "--cert-dir", cert_dir, "--webhook-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args(["--controllers", "off", "--drain-seconds", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || stderr.lines().map_while(Result::ok).try_for_each(|line| lines.send(line)));
    let (mut serving, mut example) = (None, None);
    // (The wait only keeps a broken build from hanging the suite.)
    while let Ok(line) = received.recv_timeout(Duration::from_secs(60)) {
        if let Some(rest) = line.split("webhooks=https://").nth(1) {
            serving = rest.split_whitespace().next().map(str::to_string);
        }
        if line.contains("try: curl") {
            example = Some(line);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&certs);
    let serving = serving.expect("a line saying where it serves");
    let example = example.expect("an example curl");
    assert!(!serving.ends_with(":0"), "{serving}");
    assert!(example.contains(&format!("https://{serving}/validate/mcpserverentries")), "{example}");
}
