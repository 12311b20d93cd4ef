//! The webhook listener's serving threads: one single-threaded tokio runtime per worker, each with
//! its own I/O driver and timer, and connections handed to the worker with the fewest open ones.
//!
//! A connection then lives on one thread from handshake to close: its reads, the review and the
//! response never cross cores, and no worker wakes another to share or steal work, which on a busy
//! node is most of what a work-stealing scheduler costs per request (BENCHMARKS.md). HTTP/2
//! streams, which share a connection, are spread over the workers by [`Workers::executor`].

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio_util::sync::CancellationToken;

struct Worker {
    handle: Handle,
    /// Connections assigned to this worker and not yet closed.
    open: AtomicUsize,
}

/// The serving threads; stopped by [`Workers::stop`] (or when dropped).
pub struct Workers {
    workers: Arc<[Worker]>,
    threads: Vec<JoinHandle<()>>,
    stop: CancellationToken,
    /// Round-robin position of [`Workers::executor`]'s spawns.
    next: Arc<AtomicUsize>,
}

/// One worker's claim on a connection: counts it as open until dropped.
struct Assigned {
    workers: Arc<[Worker]>,
    index: usize,
}

impl Drop for Assigned {
    fn drop(&mut self) {
        self.workers[self.index].open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Workers {
    /// Starts `count` serving threads (at least one), named `{name}-{n}`.
    pub fn start(name: &str, count: usize) -> io::Result<Workers> {
        let stop = CancellationToken::new();
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        for index in 0..count.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            workers.push(Worker { handle: runtime.handle().clone(), open: AtomicUsize::new(0) });
            let stopped = stop.clone().cancelled_owned();
            let spawned =
                std::thread::Builder::new().name(format!("{name}-{index}")).spawn(move || runtime.block_on(stopped));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(err) => {
                    stop.cancel();
                    return Err(err);
                }
            }
        }
        Ok(Workers { workers: workers.into(), threads, stop, next: Arc::new(AtomicUsize::new(0)) })
    }

    /// How many serving threads there are; workers are numbered from 0.
    pub fn count(&self) -> usize {
        self.workers.len()
    }

    /// Runs a connection's task, made by `connection` from the number of the worker it goes to,
    /// on the worker with the fewest open connections, where it counts as open until it ends. The
    /// task is first polled on that worker's thread, so the sockets it registers belong to that
    /// worker's I/O driver.
    pub fn spawn_connection<F, Fut>(&self, connection: F)
    where
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let index =
            (0..self.workers.len()).min_by_key(|&i| self.workers[i].open.load(Ordering::Relaxed)).unwrap_or_default();
        self.workers[index].open.fetch_add(1, Ordering::Relaxed);
        let assigned = Assigned { workers: self.workers.clone(), index };
        let connection = connection(index);
        self.workers[index].handle.spawn(async move {
            let _assigned = assigned;
            connection.await;
        });
    }

    /// An executor for the tasks hyper spawns (HTTP/2 streams), spread over the workers in turn.
    pub fn executor(&self) -> WorkerExecutor {
        WorkerExecutor { workers: self.workers.clone(), next: self.next.clone() }
    }

    /// Stops the threads (dropping any task still on them) and waits for them to exit.
    pub fn stop(mut self) {
        self.stop.cancel();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Spawns hyper's tasks on the webhook workers, round robin.
#[derive(Clone)]
pub struct WorkerExecutor {
    workers: Arc<[Worker]>,
    next: Arc<AtomicUsize>,
}

impl<Fut> hyper::rt::Executor<Fut> for WorkerExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, task: Fut) {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[index].handle.spawn(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_string()
    }

    #[test]
    fn connections_go_to_the_worker_with_the_fewest_open() {
        let workers = Workers::start("t", 2).expect("workers");
        assert_eq!(workers.count(), 2);
        let (release, held) = tokio::sync::watch::channel(false);
        let seen = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..4 {
            let (seen, mut held) = (seen.clone(), held.clone());
            let (started, ran) = std::sync::mpsc::channel();
            workers.spawn_connection(move |index| async move {
                assert_eq!(thread_name(), format!("t-{index}"), "the task runs on the worker it was made for");
                seen.lock().expect("lock").push(thread_name());
                started.send(()).expect("send");
                let _ = held.wait_for(|released| *released).await;
            });
            ran.recv_timeout(Duration::from_secs(5)).expect("the connection task ran");
        }
        let mut names = seen.lock().expect("lock").clone();
        names.sort();
        assert_eq!(names, ["t-0", "t-0", "t-1", "t-1"], "two open connections on each worker");
        release.send(true).expect("release");
        workers.stop();
    }

    #[test]
    fn a_closed_connection_frees_its_worker() {
        let workers = Workers::start("u", 2).expect("workers");
        let (release, held) = tokio::sync::watch::channel(false);
        let (started, ran) = std::sync::mpsc::channel();
        let mut held_clone = held.clone();
        let first_started = started.clone();
        workers.spawn_connection(move |_| async move {
            first_started.send(thread_name()).expect("send");
            let _ = held_clone.wait_for(|released| *released).await;
        });
        let busy = ran.recv_timeout(Duration::from_secs(5)).expect("first ran");
        // A short connection on the other worker, which closes at once.
        let closed_started = started.clone();
        workers.spawn_connection(move |_| async move {
            closed_started.send(thread_name()).expect("send");
        });
        let other = ran.recv_timeout(Duration::from_secs(5)).expect("second ran");
        assert_ne!(busy, other);
        // Give the closed connection's claim time to be dropped, then the next one goes there again.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while workers.workers.iter().map(|w| w.open.load(Ordering::Relaxed)).sum::<usize>() != 1 {
            assert!(std::time::Instant::now() < deadline, "the claim was not released");
            std::thread::sleep(Duration::from_millis(1));
        }
        workers.spawn_connection(move |_| async move {
            started.send(thread_name()).expect("send");
        });
        assert_eq!(ran.recv_timeout(Duration::from_secs(5)).expect("third ran"), other);
        release.send(true).expect("release");
        drop(held);
        workers.stop();
    }

    #[test]
    fn the_executor_spreads_tasks_over_every_worker() {
        let workers = Workers::start("v", 3).expect("workers");
        let executor = workers.executor();
        let (sent, received) = std::sync::mpsc::channel();
        for _ in 0..6 {
            let sent = sent.clone();
            hyper::rt::Executor::execute(&executor, async move {
                sent.send(thread_name()).expect("send");
            });
        }
        let mut names: Vec<String> =
            (0..6).map(|_| received.recv_timeout(Duration::from_secs(5)).expect("task ran")).collect();
        names.sort();
        assert_eq!(names, ["v-0", "v-0", "v-1", "v-1", "v-2", "v-2"]);
        workers.stop();
    }
}
