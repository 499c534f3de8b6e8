//! Progress output: a bar redrawn in place on a terminal, plain lines elsewhere (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Seconds of work before a rate (and a time left) is shown.
const MIN_ELAPSED_FOR_RATE: f64 = 0.5;

/// Reports progress of a job of `total` steps (0 = unknown).
pub struct Progress {
    what: String,
    started: Instant,
    last: Option<Instant>,
    terminal: bool,
}

impl Progress {
    pub fn new(what: &str) -> Progress {
        Progress {
            what: what.to_string(),
            started: Instant::now(),
            last: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Updates: `done` of `total` units (frames, photos), with `detail` for the current one.
    /// Plain lines are printed at most every `every` (or always, when `every` is zero).
    pub fn update(&mut self, done: u64, total: u64, detail: &str, every: Duration) {
        let now = Instant::now();
        if self.last.is_some_and(|l| now - l < every) && done < total {
            return;
        }
        self.last = Some(now);
        let elapsed = (now - self.started).as_secs_f64();
        // A rate over the first fraction of a second (one photo in 10 µs) means nothing.
        let rate = (elapsed >= MIN_ELAPSED_FOR_RATE && done > 0).then(|| done as f64 / elapsed);
        let rate_text = rate.map_or_else(|| "?/s".to_string(), |r| format!("{r:.1}/s"));
        let (percent, eta) = if total > 0 {
            let eta = rate.map_or_else(String::new, |r| {
                format!("{:.0}s left", total.saturating_sub(done) as f64 / r)
            });
            (format!("{:5.1}%", 100.0 * done as f64 / total as f64), eta)
        } else {
            ("   ?%".to_string(), String::new())
        };
        let line = format!(
            "{}: {percent} {done}/{total} {rate_text} {eta} {detail}",
            self.what
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 30usize;
            let filled = (width as u64 * done.min(total))
                .checked_div(total)
                .unwrap_or(0) as usize;
            let _ = write!(
                err,
                "\r\x1b[2K[{}{}] {line}",
                "#".repeat(filled),
                "-".repeat(width - filled)
            );
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Ends the progress display.
    pub fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
    }
}
