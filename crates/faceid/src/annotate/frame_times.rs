//! faceidoverlay's own time a frame, as a live host sees it: from the buffer entering its sink
//! pad to it leaving its source pad (the element works in place, in the streaming thread, so
//! the two probes run on the same thread around exactly its work). Frames of the preroll are
//! not counted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::consumers::lock;

/// Frame times collected by the probes.
#[derive(Default)]
pub struct FrameTimes {
    entered: Option<Instant>,
    times: Vec<Duration>,
}

impl FrameTimes {
    /// Probes `overlay`'s pads; the times collect in the returned value.
    pub fn attach(overlay: &gst::Element) -> Result<Arc<Mutex<FrameTimes>>, String> {
        let times = Arc::new(Mutex::new(FrameTimes::default()));
        let pad = |name| {
            overlay
                .static_pad(name)
                .ok_or_else(|| format!("faceidoverlay has no {name} pad"))
        };
        let t = times.clone();
        pad("sink")?.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            // A frame that arrives while the pipeline prerolls (its clock not running yet) may
            // wait for the weights: it is nobody's late frame, and is not counted.
            let playing = pad
                .parent_element()
                .is_some_and(|e| e.current_state() == gst::State::Playing);
            lock(&t).entered = playing.then(Instant::now);
            gst::PadProbeReturn::Ok
        });
        let t = times.clone();
        pad("src")?.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let mut t = lock(&t);
            if let Some(entered) = t.entered.take() {
                t.times.push(entered.elapsed());
            }
            gst::PadProbeReturn::Ok
        });
        Ok(times)
    }

    /// One line: median, p99, max, and how many frames took longer than `frame` (a frame's
    /// duration at 30 frames/s unless the video says otherwise).
    pub fn summary(&self, frame: Duration) -> Option<String> {
        let s = Stats::of(&self.times, frame)?;
        Some(format!(
            "faceidoverlay a frame: median {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} of {} over {:.0} ms",
            ms(s.median),
            ms(s.p99),
            ms(s.max),
            s.over,
            self.times.len(),
            ms(frame)
        ))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Order statistics of frame times.
#[derive(Debug, PartialEq)]
struct Stats {
    median: Duration,
    p99: Duration,
    max: Duration,
    over: usize,
}

impl Stats {
    fn of(times: &[Duration], limit: Duration) -> Option<Stats> {
        let mut sorted = times.to_vec();
        sorted.sort();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Some(Stats {
            median: *sorted.get(sorted.len() / 2)?,
            p99: at(0.99),
            max: *sorted.last()?,
            over: sorted.iter().filter(|t| **t > limit).count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_frames_over_the_limit() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Stats::of(&times, Duration::from_millis(33)).unwrap();
        assert_eq!(s.median, Duration::from_millis(51));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.over, 67);
        assert_eq!(Stats::of(&[], Duration::ZERO), None);
    }
}
