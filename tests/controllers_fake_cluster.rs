//! The controllers end to end, as `serve` runs them, against `bench/fake-apiserver.py` (a stateful
//! fake API server in Python's standard library, the one `bench/controller-memory.sh` uses): every
//! object gets a status on the first pass, the leader Lease is given up at shutdown, and a restart
//! on the state the first run left writes nothing. Skips when `python3` is missing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Seconds without a controller write that count as settled.
const QUIET: f64 = 3.0;
/// How long to wait for anything before giving up (a guard against hanging, not a measure).
const PATIENCE: Duration = Duration::from_secs(180);

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The body of a plain-HTTP GET, or `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    (head.split_whitespace().nth(1) == Some("200")).then(|| body.to_string())
}

fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(start.elapsed() < PATIENCE, "{what}: not after {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sum of every series of the metric `name` in a Prometheus text exposition.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && matches!(line.as_bytes().get(name.len()), Some(b' ' | b'{')))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

struct Fake {
    port: u16,
    _process: Running,
}

impl Fake {
    fn start(dir: &Path, objects: usize) -> Fake {
        let port_file = dir.join("fake.port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/fake-apiserver.py");
        let process = Command::new("python3")
            .arg(script)
            .args(["--port", "0", "--namespaces", "2", "--objects", &objects.to_string(), "--port-file"])
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the fake API server");
        let process = Running(process);
        let port =
            wait_for("the fake API server listens", || std::fs::read_to_string(&port_file).ok()?.trim().parse().ok());
        std::fs::write(
            dir.join("kubeconfig"),
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: http://127.0.0.1:{port}}}\n\
                 users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake}}\n\
                 current-context: fake\n"
            ),
        )
        .expect("kubeconfig");
        Fake { port, _process: process }
    }

    fn stats(&self) -> Value {
        let body = wait_for("the fake API server's stats", || get(self.port, "/_fake/stats"));
        serde_json::from_str(&body).expect("stats are JSON")
    }

    fn writes(&self) -> u64 {
        self.stats()["writes"].as_u64().expect("a write count")
    }

    fn items(&self, plural: &str) -> Vec<Value> {
        let path = format!("/apis/toolhive.stacklok.dev/v1beta1/{plural}");
        let body = wait_for("a list from the fake API server", || get(self.port, &path));
        let list: Value = serde_json::from_str(&body).expect("a list");
        list["items"].as_array().cloned().unwrap_or_default()
    }
}

struct Serve {
    process: Running,
    log: PathBuf,
    admin: u16,
}

impl Serve {
    fn start(dir: &Path, run: &str) -> Serve {
        let log = dir.join(format!("serve-{run}.log"));
        let process = Command::new(env!("CARGO_BIN_EXE_mcp-operator"))
            .args(["serve", "--controllers", "on", "--cert-mode", "dev", "--cert-dir"])
            .arg(dir.join("certs"))
            .args(["--webhook-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--drain-seconds", "0"])
            .args(["--identity", "fake-cluster-test", "--log-format", "text"])
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("serve starts");
        let process = Running(process);
        let admin = wait_for("serve says where it serves", || {
            let text = std::fs::read_to_string(&log).ok()?;
            let rest = text.split("admin=http://127.0.0.1:").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        });
        Serve { process, log, admin }
    }

    /// Waits until this replica leads, its queues are empty and the fake server has seen no
    /// controller write for [`QUIET`] seconds (or none at all since `writes_before`).
    fn settle(&self, fake: &Fake, writes_before: u64) {
        let mut quiet_since: Option<Instant> = None;
        wait_for("the controllers settle", || {
            let metrics = get(self.admin, "/metrics")?;
            let idle = metric(&metrics, "mcp_operator_leader") == 1.0
                && metric(&metrics, "mcp_operator_reconcile_queue_depth") == 0.0;
            let stats = fake.stats();
            let age = stats["last_write_age_s"].as_f64();
            let wrote = stats["writes"].as_u64().unwrap_or_default() > writes_before;
            if !idle {
                quiet_since = None;
                return None;
            }
            let since = *quiet_since.get_or_insert_with(Instant::now);
            let settled = if wrote { age.is_some_and(|a| a >= QUIET) } else { since.elapsed().as_secs_f64() >= QUIET };
            settled.then_some(())
        });
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as Kubernetes stops a pod, and the log once it has exited.
    fn stop(mut self) -> String {
        // (Through python3, which the test needs anyway: std has no signals, and `kill` is not a
        // binary on every machine.)
        let pid = self.process.0.id();
        let term = format!("import os, signal; os.kill({pid}, signal.SIGTERM)");
        Command::new("python3").args(["-c", &term]).status().expect("python3 sends SIGTERM");
        wait_for("serve exits on SIGTERM", || self.process.0.try_wait().ok().flatten());
        self.log()
    }
}

#[test]
fn controllers_reconcile_a_fake_cluster_and_a_restart_writes_nothing() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 runs the fake API server and is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mcp-operator-fake-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("work folder");
    let fake = Fake::start(&dir, 200);

    let first = Serve::start(&dir, "first");
    first.settle(&fake, 0);
    for plural in ["mcpgroups", "mcpserverentries", "virtualmcpservers", "mcpregistries"] {
        let items = fake.items(plural);
        assert!(!items.is_empty(), "the fake serves {plural}");
        for item in items {
            let phase = item["status"]["phase"].as_str().unwrap_or_default();
            assert!(
                !phase.is_empty(),
                "{plural} {} has no status phase after the first pass",
                item["metadata"]["name"]
            );
        }
    }
    let stats = fake.stats();
    assert!(stats["writes"].as_u64().is_some_and(|w| w > 0), "{stats:#}");
    assert_eq!(stats["unknown"], serde_json::json!({}), "requests the fake does not know: {stats:#}");
    let log = first.stop();
    assert!(!log.contains(" ERROR "), "{log}");
    assert!(log.contains("released the leader lease"), "the Lease was not given up at shutdown:\n{log}");

    let writes = fake.writes();
    let second = Serve::start(&dir, "second");
    second.settle(&fake, writes);
    let again = fake.writes() - writes;
    let log = second.stop();
    assert_eq!(again, 0, "a restart on a settled cluster wrote {again} times:\n{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
