//! Keeps the sync worker running through store outages.
//!
//! apalis' worker ends for good at the first error of its backend (a
//! heartbeat or fetch while PostgreSQL is down), and could hang on a query
//! that never answers. The supervisor runs one worker after the other: when
//! one ends, or its [`Pulse`] has not beaten for `stall_after`, it waits (a
//! backoff that doubles per consecutive failure, back to the first step once
//! a worker got to beat) and starts the next under a new name. The jobs a
//! dead worker held stay in PostgreSQL and are handed out again once it
//! missed its heartbeats. A stop request is passed to the running worker,
//! which finishes its jobs in flight (given `stall_after` to do so);
//! nothing is restarted after it.

use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use nolose_jobs::local::Pulse;
use tokio::sync::watch;
use tokio::time::{Duration, Instant};

/// How the supervisor paces restarts and spots a hung worker.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub stall_after: Duration,
}

/// Resolves when the supervisor is told to stop; handed to each worker.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How one worker ended.
enum Ended {
    Stopped,
    Failed(anyhow::Error),
    Stalled,
}

/// Runs workers made by `start(name, shutdown)` until `stop` turns true (or
/// its sender is dropped); `pulse` is the one the workers beat.
pub async fn supervise<F, Fut>(mut start: F, pulse: Pulse, pace: Pace, stop: watch::Receiver<bool>)
where
    F: FnMut(String, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let _silenced = Silence(pulse.clone());
    let mut backoff = pace.first_backoff;
    loop {
        pulse.stop();
        let ended = run_one(&mut start, &pulse, pace.stall_after, stop.clone()).await;
        let beat = pulse.alive_until().is_some();
        pulse.stop();
        if stop_requested(&stop) {
            return;
        }
        if beat {
            backoff = pace.first_backoff;
        }
        match ended {
            Ended::Failed(e) => {
                tracing::warn!(error = format!("{e:#}"), restart_in = ?backoff, "sync worker stopped")
            }
            Ended::Stalled => tracing::warn!(restart_in = ?backoff, "sync worker stopped beating"),
            Ended::Stopped => tracing::warn!(restart_in = ?backoff, "sync worker ended unasked"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped(stop.clone()) => return,
        }
        backoff = (backoff * 2).min(pace.max_backoff);
    }
}

/// One worker, until it ends or is found hung. Once a stop was requested it
/// gets `stall_after` to finish its jobs in flight (draining beats no heart,
/// and a hung worker would never end); what it still holds then stays in
/// PostgreSQL for the next start.
async fn run_one<F, Fut>(
    start: &mut F,
    pulse: &Pulse,
    stall_after: Duration,
    stop: watch::Receiver<bool>,
) -> Ended
where
    F: FnMut(String, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let run = start(worker_name(), Box::pin(stopped(stop.clone())));
    tokio::pin!(run);
    let deadline = || pulse.alive_until().unwrap_or(started + stall_after);
    loop {
        tokio::select! {
            done = &mut run => return ended(done),
            () = stopped(stop.clone()) => {
                return match tokio::time::timeout(stall_after, &mut run).await {
                    Ok(done) => ended(done),
                    Err(_) => {
                        tracing::warn!(grace = ?stall_after, "sync worker did not finish its jobs after the stop; they wait for the next start");
                        Ended::Stalled
                    }
                };
            }
            () = tokio::time::sleep_until(deadline()) => {
                if deadline() <= Instant::now() {
                    return Ended::Stalled;
                }
            }
        }
    }
}

/// Whatever ends the supervisor (an abort included), no worker runs then.
struct Silence(Pulse);

impl Drop for Silence {
    fn drop(&mut self) {
        self.0.stop();
    }
}

fn ended(done: anyhow::Result<()>) -> Ended {
    match done {
        Ok(()) => Ended::Stopped,
        Err(e) => Ended::Failed(e),
    }
}

fn stop_requested(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Resolves once a stop is requested or nobody can request one any more.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Unique per worker: apalis tells live workers from dead ones by name.
fn worker_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("nolose-{}-{nanos:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    const PACE: Pace = Pace {
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        stall_after: Duration::from_millis(50),
    };

    /// The names the supervisor started workers under, and how each ended.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    impl Log {
        fn push(&self, entry: String) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        }
        fn entries(&self) -> Vec<String> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
        async fn wait_for(&self, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let entries = self.entries();
                if ok(&entries) {
                    return entries;
                }
                assert!(Instant::now() < deadline, "{what}: {entries:?}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    fn spawn<F, Fut>(start: F, pulse: Pulse) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>)
    where
        F: FnMut(String, Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(supervise(start, pulse, PACE, stopping));
        (stop, task)
    }

    #[tokio::test]
    async fn a_worker_that_fails_is_replaced_under_a_new_name() {
        let log = Log::default();
        let starts = log.clone();
        let (stop, task) = spawn(
            move |name, _| {
                starts.push(name);
                async { Err(anyhow::anyhow!("PostgreSQL is down")) }
            },
            Pulse::default(),
        );
        let names = log.wait_for("restarted twice", |l| l.len() >= 3).await;
        let _ = stop.send(true);
        task.await.expect("supervisor ends");
        assert_ne!(names[0], names[1], "a new name per worker");
    }

    #[tokio::test]
    async fn a_worker_that_stops_beating_is_replaced() {
        let log = Log::default();
        let starts = log.clone();
        let pulse = Pulse::default();
        let beats = pulse.clone();
        let (stop, task) = spawn(
            move |name, _| {
                starts.push(name);
                beats.beat(PACE.stall_after);
                std::future::pending::<anyhow::Result<()>>()
            },
            pulse.clone(),
        );
        log.wait_for("replaced after its pulse ran out", |l| l.len() >= 2)
            .await;
        let _ = stop.send(true);
        task.await.expect("supervisor ends");
        assert!(!pulse.is_alive(), "a stopped supervisor leaves no pulse");
    }

    #[tokio::test]
    async fn a_stop_lets_the_running_worker_finish_and_starts_no_other() {
        let log = Log::default();
        let starts = log.clone();
        let pulse = Pulse::default();
        let beats = pulse.clone();
        let (stop, task) = spawn(
            move |name, shutdown: Shutdown| {
                starts.push(name);
                beats.beat(Duration::from_secs(60));
                let ends = starts.clone();
                async move {
                    shutdown.await;
                    ends.push("finished its jobs".into());
                    Ok(())
                }
            },
            pulse.clone(),
        );
        log.wait_for("started", |l| !l.is_empty()).await;
        assert!(pulse.is_alive(), "a beating worker is alive");

        let _ = stop.send(true);
        task.await.expect("supervisor ends");

        let entries = log.entries();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[1], "finished its jobs");
        assert!(!pulse.is_alive(), "no worker runs after the stop");
    }
}
