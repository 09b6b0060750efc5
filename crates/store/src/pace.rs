//! Pacing background work against foreground latency.
//!
//! The group-commit writer measures, for every foreground unit (everything but the purger's), the
//! time from submitting it to its durable result ([`Latency`]): a fast moving average ("now")
//! and a slow one learnt while no background unit ran recently ("baseline", what the store does
//! without the purger). The purger asks [`Pacer`] for its rate after each batch: when foreground
//! latency is above twice the baseline, or foreground units were queued behind a purge batch, the
//! rate halves (multiplicative decrease); otherwise it grows back by a twentieth of the maximum
//! per batch (additive increase). It never falls below a floor, so a purge always ends.
//!
//! Both are plain values fed with samples and instants, so they are tested without clocks.

use std::time::{Duration, Instant};

/// Weight of a new sample in "now".
const CURRENT_WEIGHT: f64 = 0.2;
/// Weight of a new sample in the baseline.
const BASELINE_WEIGHT: f64 = 0.05;
/// A sample counts for the baseline only when no background unit committed this long before.
const QUIET: Duration = Duration::from_millis(500);
/// "Now" older than this says nothing: no foreground writes, nobody suffers.
const STALE: Duration = Duration::from_secs(1);
/// Foreground latency counts as suffering above this multiple of the baseline...
const SUFFER_FACTOR: f64 = 2.0;
/// ...and at least this much above it (doubling 0.3 ms is noise, not harm).
const SUFFER_SLACK: Duration = Duration::from_millis(1);
/// Share of the maximum rate kept while backing off.
const FLOOR_SHARE: f64 = 0.05;
/// Lowest floor in entries per second, whatever the maximum.
const MIN_FLOOR: f64 = 10.0;
/// Share of the maximum rate regained per batch while latency is normal.
const INCREASE_SHARE: f64 = 0.05;

/// What the purger learns about foreground load after a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Load {
    /// Recent foreground commit latency, if there were foreground writes lately.
    pub(crate) current: Option<Duration>,
    /// Foreground commit latency without background work, once known.
    pub(crate) baseline: Option<Duration>,
    /// Whether foreground units waited in the queue while a background unit committed.
    pub(crate) queued_behind: bool,
    /// Whether the runtime was slow to wake the purger: the cores are saturated, so the
    /// sessions on them wait too ([`Lag`]).
    pub(crate) starved: bool,
}

impl Load {
    /// Whether foreground writes are suffering.
    pub(crate) fn suffering(&self) -> bool {
        if self.queued_behind || self.starved {
            return true;
        }
        match (self.current, self.baseline) {
            (Some(now), Some(base)) => {
                now.as_secs_f64() > base.as_secs_f64() * SUFFER_FACTOR && now > base + SUFFER_SLACK
            }
            _ => false,
        }
    }
}

/// Foreground commit latency: a fast and a slow moving average.
#[derive(Debug, Default)]
pub(crate) struct Latency {
    current: Option<f64>,
    baseline: Option<f64>,
    last_sample: Option<Instant>,
    last_background: Option<Instant>,
}

impl Latency {
    /// Records one foreground unit's latency, observed at `now`.
    pub(crate) fn observe(&mut self, latency: Duration, now: Instant) {
        let secs = latency.as_secs_f64();
        self.current = Some(match self.current {
            Some(c)
                if self
                    .last_sample
                    .is_some_and(|t| now.duration_since(t) < STALE) =>
            {
                c + CURRENT_WEIGHT * (secs - c)
            }
            _ => secs,
        });
        self.last_sample = Some(now);
        let quiet = self
            .last_background
            .is_none_or(|t| now.duration_since(t) >= QUIET);
        self.baseline = match self.baseline {
            None => Some(secs),
            Some(b) if quiet => Some(b + BASELINE_WEIGHT * (secs - b)),
            Some(b) => Some(b),
        };
    }

    /// Notes that a background unit committed at `now`.
    pub(crate) fn background_ran(&mut self, now: Instant) {
        self.last_background = Some(now);
    }

    /// The averages as of `now`: "now" is dropped once stale.
    pub(crate) fn load(&self, now: Instant, queued_behind: bool) -> Load {
        let fresh = self
            .last_sample
            .is_some_and(|t| now.duration_since(t) < STALE);
        Load {
            current: self.current.filter(|_| fresh).map(Duration::from_secs_f64),
            baseline: self.baseline.map(Duration::from_secs_f64),
            queued_behind,
            starved: false,
        }
    }
}

/// Oversleep that says the cores are saturated: tokio timers are good to a millisecond, so a
/// wake-up later than this on average means runnable work is waiting for a CPU.
const STARVED: Duration = Duration::from_millis(3);
/// Weight of a new oversleep sample.
const LAG_WEIGHT: f64 = 0.3;

/// How late the purger wakes from its pauses: a read-side signal of load that commit latency
/// misses (sessions that only read never wait on the writer, but they wait for a CPU).
#[derive(Debug, Default)]
pub(crate) struct Lag {
    average: f64,
}

impl Lag {
    /// Records that a pause asked for `planned` took `actual`.
    pub(crate) fn observe(&mut self, planned: Duration, actual: Duration) {
        let late = actual.saturating_sub(planned).as_secs_f64();
        self.average += LAG_WEIGHT * (late - self.average);
    }

    /// The moving average of lateness.
    pub(crate) fn average(&self) -> Duration {
        Duration::from_secs_f64(self.average.max(0.0))
    }

    /// Whether wake-ups are late enough to mean saturated cores.
    pub(crate) fn starved(&self) -> bool {
        self.average > STARVED.as_secs_f64()
    }
}

/// The purge rate controller (AIMD between a floor and the configured maximum).
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    max: f64,
    rate: f64,
    backing_off: bool,
}

impl Pacer {
    /// A controller starting at `max` entries per second.
    pub(crate) fn new(max: f64) -> Self {
        Self {
            max,
            rate: max,
            backing_off: false,
        }
    }

    /// Changes the maximum; the rate follows at once when it is above the new maximum.
    pub(crate) fn set_max(&mut self, max: f64) {
        self.max = max;
        self.rate = self.rate.clamp(self.floor(), max.max(self.floor()));
    }

    /// The lowest rate it backs off to.
    pub(crate) fn floor(&self) -> f64 {
        (self.max * FLOOR_SHARE).max(MIN_FLOOR).min(self.max)
    }

    /// The rate for the next batch given the load after the last one.
    pub(crate) fn next(&mut self, load: Load) -> f64 {
        self.backing_off = load.suffering();
        self.rate = if self.backing_off {
            (self.rate / 2.0).max(self.floor())
        } else {
            (self.rate + self.max * INCREASE_SHARE).min(self.max)
        };
        self.rate
    }

    /// The current rate in entries per second.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// Whether the last decision was to back off.
    pub(crate) fn backing_off(&self) -> bool {
        self.backing_off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_baseline_learns_only_while_no_background_work_runs() {
        let t0 = Instant::now();
        let mut lat = Latency::default();
        for i in 0..50 {
            lat.observe(ms(2), t0 + ms(i * 10));
        }
        let quiet = lat.load(t0 + ms(500), false);
        assert_eq!(quiet.baseline, Some(ms(2)));
        assert!(!quiet.suffering());
        // The purger starts; foreground latency climbs to 10 ms.
        let t1 = t0 + ms(1000);
        for i in 0..20 {
            lat.background_ran(t1 + ms(i * 10));
            lat.observe(ms(10), t1 + ms(i * 10 + 5));
        }
        let busy = lat.load(t1 + ms(200), false);
        assert_eq!(
            busy.baseline,
            Some(ms(2)),
            "purge-induced latency is not the norm"
        );
        assert!(busy.current.expect("fresh") > ms(9));
        assert!(busy.suffering());
        // No foreground writes for a while: nobody suffers.
        let later = lat.load(t1 + ms(5000), false);
        assert_eq!(later.current, None);
        assert!(!later.suffering());
    }

    #[test]
    fn late_wake_ups_mean_starved_cores_and_recover() {
        let mut lag = Lag::default();
        for _ in 0..20 {
            lag.observe(ms(10), ms(11)); // timer granularity, not load
        }
        assert!(!lag.starved());
        for _ in 0..5 {
            lag.observe(ms(10), ms(20));
        }
        assert!(lag.starved());
        let load = Load {
            starved: lag.starved(),
            ..Load::default()
        };
        assert!(load.suffering());
        for _ in 0..20 {
            lag.observe(ms(0), ms(0));
        }
        assert!(!lag.starved());
    }

    #[test]
    fn small_absolute_changes_and_missing_data_are_not_suffering() {
        let load = |current, baseline| Load {
            current: Some(Duration::from_micros(current)),
            baseline: Some(Duration::from_micros(baseline)),
            ..Load::default()
        };
        assert!(
            !load(700, 300).suffering(),
            "more than 2x but under 1 ms more"
        );
        assert!(load(2_500, 1_000).suffering());
        assert!(!load(1_900, 1_000).suffering());
        assert!(!Load::default().suffering());
        let queued = Load {
            queued_behind: true,
            ..Load::default()
        };
        assert!(queued.suffering());
    }

    #[test]
    fn the_rate_halves_under_load_to_a_floor_and_recovers_additively() {
        let calm = Load {
            current: Some(ms(2)),
            baseline: Some(ms(2)),
            ..Load::default()
        };
        let hurt = Load {
            current: Some(ms(8)),
            ..calm
        };
        let mut pacer = Pacer::new(1000.0);
        assert_eq!(pacer.next(calm), 1000.0);
        assert!(!pacer.backing_off());
        assert_eq!(pacer.next(hurt), 500.0);
        assert!(pacer.backing_off());
        assert_eq!(pacer.next(hurt), 250.0);
        for _ in 0..20 {
            pacer.next(hurt);
        }
        assert_eq!(pacer.rate(), 50.0, "never below the floor");
        assert_eq!(pacer.next(calm), 100.0);
        assert!(!pacer.backing_off());
        assert_eq!(
            pacer.next(calm),
            150.0,
            "additive: +5% of the maximum per batch"
        );
        for _ in 0..30 {
            pacer.next(calm);
        }
        assert_eq!(pacer.rate(), 1000.0, "back to the maximum, not beyond");
        pacer.set_max(200.0);
        assert_eq!(pacer.rate(), 200.0);
        assert_eq!(pacer.floor(), 10.0);
    }
}
