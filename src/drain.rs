//! Graceful shutdown as the service core sees it. On shutdown the server stops admitting
//! work but keeps its connections open, so that callers see readiness turn NOT_SERVING and
//! get UNAVAILABLE for new calls (a status they can retry elsewhere) instead of a connection
//! that closes under them. Admitted requests finish; those still running when the grace period
//! is about to end are answered UNAVAILABLE, so that none is dropped without an answer.

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Draining,
    Aborted,
}

/// The phase and the number of admitted requests, kept together so that admission and the
/// drain's "nothing in flight" cannot race.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    in_flight: usize,
}

/// Admission of requests and the state of a shutdown.
pub struct Drain {
    state: watch::Sender<State>,
}

/// An admitted request; dropping it counts the request out.
pub struct InFlight<'a>(&'a Drain);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.state.send_modify(|state| state.in_flight -= 1);
    }
}

impl Default for Drain {
    fn default() -> Self {
        let (state, _) = watch::channel(State {
            phase: Phase::Open,
            in_flight: 0,
        });
        Drain { state }
    }
}

impl Drain {
    /// Admits a request, or `None` once the drain has begun.
    pub fn enter(&self) -> Option<InFlight<'_>> {
        let admitted = self.state.send_if_modified(|state| {
            let open = state.phase == Phase::Open;
            if open {
                state.in_flight += 1;
            }
            open
        });
        // Lazily: a guard made and dropped for a refused request would count it out.
        admitted.then(|| InFlight(self))
    }

    /// Stops admitting requests; those admitted go on.
    pub fn begin(&self) {
        self.state.send_modify(|state| {
            if state.phase == Phase::Open {
                state.phase = Phase::Draining;
            }
        });
    }

    /// Ends the requests still in flight (they are answered UNAVAILABLE); returns how many.
    pub fn abort(&self) -> usize {
        let mut in_flight = 0;
        self.state.send_modify(|state| {
            state.phase = Phase::Aborted;
            in_flight = state.in_flight;
        });
        in_flight
    }

    /// Resolves once [`Drain::abort`] has been called.
    pub async fn aborted(&self) {
        let mut state = self.state.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = state.wait_for(|state| state.phase == Phase::Aborted).await;
    }

    /// Resolves once no admitted request is in flight.
    pub async fn idle(&self) {
        let mut state = self.state.subscribe();
        let _ = state.wait_for(|state| state.in_flight == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn admitted_requests_keep_the_drain_busy_until_they_end() {
        let drain = Drain::default();
        let first = drain.enter().expect("open");
        let second = drain.enter().expect("open");
        drain.begin();
        assert!(drain.enter().is_none(), "no admission once the drain has begun");
        drop(first);
        let idle = tokio::time::timeout(Duration::from_millis(50), drain.idle()).await;
        assert!(idle.is_err(), "one request is still in flight");
        drop(second);
        tokio::time::timeout(Duration::from_secs(1), drain.idle())
            .await
            .expect("idle once both ended");
    }

    #[tokio::test]
    async fn abort_wakes_the_requests_in_flight_and_counts_them() {
        let drain = Drain::default();
        let request = drain.enter().unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(20), drain.aborted()).await;
        assert!(waiting.is_err(), "not aborted yet");
        drain.begin();
        assert_eq!(drain.abort(), 1);
        tokio::time::timeout(Duration::from_secs(1), drain.aborted())
            .await
            .expect("aborted");
        assert!(drain.enter().is_none());
        drop(request);
        drain.idle().await;
    }
}
