//! Timed subtitle cues naming the faces on screen.
//!
//! `faceid annotate --subtitles names.vtt` feeds every frame's named faces
//! into a [`CueBuilder`], which merges consecutive appearances of the same
//! label into one [`Cue`]. [`render`] then writes the cues as WebVTT (with
//! position settings placing each name just above its face) or SRT, so the
//! names can be shown by any player without re-encoding the video.
//! `--embed-subtitles` also muxes them into the video as a subtitle track:
//! [`TrackWriter`] cuts the cues, while frames still come, into
//! non-overlapping samples a muxer can interleave with the video.
//!
//! Nothing here panics, whatever the input: timestamps saturate instead of
//! overflowing, non-finite coordinates are ignored and backwards
//! timestamps start a new segment.

use crate::face_result::NamedFace;
use std::path::Path;

/// Fallback frame duration when a frame has no duration and none can be
/// inferred: 1/30 s.
const DEFAULT_FRAME_NS: u64 = 33_333_333;

/// Largest pts delta accepted as a frame duration guess for frames that
/// report a zero duration (larger jumps are treated as discontinuities).
const MAX_INFERRED_FRAME_NS: u64 = 1_000_000_000;

/// How far (in percent of the frame height) above the face top the cue
/// line is placed, so that the text sits just above the face.
const LINE_OFFSET_PCT: f32 = 6.0;

const NS_PER_MS: u64 = 1_000_000;

/// Subtitle file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// WebVTT, with cue position settings.
    WebVtt,
    /// SubRip (SRT), without positions.
    Srt,
}

impl Format {
    /// Chooses the format from a file name: `.srt` (any case) gives
    /// [`Format::Srt`], anything else (including no extension) gives
    /// [`Format::WebVtt`].
    pub fn from_path(path: &Path) -> Format {
        match path.extension() {
            Some(ext) if ext.to_string_lossy().eq_ignore_ascii_case("srt") => Format::Srt,
            _ => Format::WebVtt,
        }
    }
}

/// One subtitle cue: a label shown from `start_ns` to `end_ns`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cue {
    /// Start time, in nanoseconds.
    pub start_ns: u64,
    /// End time (exclusive), in nanoseconds.
    pub end_ns: u64,
    /// Name shown in the cue.
    pub label: String,
    /// Mean horizontal position of the face centre over the cue, as a
    /// percentage of the frame width (0..100).
    pub position_x_pct: f32,
    /// Mean vertical position of the face top over the cue, as a
    /// percentage of the frame height (0..100).
    pub line_pct: f32,
}

/// A cue still being extended by incoming frames.
#[derive(Debug)]
struct OpenCue {
    label: String,
    start_ns: u64,
    end_ns: u64,
    sum_x: f64,
    sum_top: f64,
    samples: u64,
}

impl OpenCue {
    fn add_sample(&mut self, sample: Option<(f64, f64)>) {
        if let Some((x, top)) = sample {
            self.sum_x += x;
            self.sum_top += top;
            self.samples = self.samples.saturating_add(1);
        }
    }

    fn into_cue(self) -> Cue {
        let (x, top) = if self.samples == 0 {
            (50.0, 0.0)
        } else {
            let n = self.samples as f64;
            (self.sum_x / n, self.sum_top / n)
        };
        Cue {
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            label: self.label,
            position_x_pct: clamp_pct(x as f32, 50.0),
            line_pct: clamp_pct(top as f32, 0.0),
        }
    }
}

/// Accumulates frames and builds cues.
///
/// Each label gets one cue per continuous appearance; different labels on
/// screen at the same time get separate, overlapping cues.
#[derive(Debug)]
pub struct CueBuilder {
    frame_width: u32,
    frame_height: u32,
    min_duration_ns: u64,
    gap_tolerance_ns: u64,
    open: Vec<OpenCue>,
    done: Vec<Cue>,
    last_pts: Option<u64>,
    last_duration: Option<u64>,
}

impl CueBuilder {
    /// Creates a builder.
    ///
    /// `frame_width`/`frame_height` (pixels) are used to turn face boxes
    /// into percentage positions; `min_duration_ns`: cues shorter than
    /// this (e.g. 300 ms) are dropped as flicker; `gap_tolerance_ns`: a
    /// name missing for less than this (e.g. 250 ms) does not split its
    /// cue (a gap of this length or more does).
    pub fn new(
        frame_width: u32,
        frame_height: u32,
        min_duration_ns: u64,
        gap_tolerance_ns: u64,
    ) -> Self {
        CueBuilder {
            frame_width,
            frame_height,
            min_duration_ns,
            gap_tolerance_ns,
            open: Vec::new(),
            done: Vec::new(),
            last_pts: None,
            last_duration: None,
        }
    }

    /// Feed frames in order: presentation time and duration of the frame
    /// (ns), and its named faces.
    ///
    /// A pts earlier than the previous frame's closes every open cue (a new
    /// segment starts). A zero duration is replaced by the interval since
    /// the previous frame (if positive and at most 1 s), else the last
    /// known duration, else 1/30 s. If a label appears on several faces,
    /// only the first one is used.
    pub fn push_frame(&mut self, pts_ns: u64, duration_ns: u64, faces: &[NamedFace]) {
        if self.last_pts.is_some_and(|prev| pts_ns < prev) {
            self.flush_open();
        }
        let duration = self.effective_duration(pts_ns, duration_ns);
        self.last_pts = Some(pts_ns);
        self.last_duration = Some(duration);
        let frame_end = pts_ns.saturating_add(duration);

        // Close every cue whose label has now been missing for too long; a
        // later frame cannot have a smaller pts without flushing anyway.
        let tolerance = self.gap_tolerance_ns;
        let (stale, open): (Vec<OpenCue>, Vec<OpenCue>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|cue| splits(pts_ns.saturating_sub(cue.end_ns), tolerance));
        self.open = open;
        for cue in stale {
            self.close(cue);
        }

        let mut seen: Vec<&str> = Vec::with_capacity(faces.len());
        for face in faces {
            let Some(label) = face.name() else {
                continue;
            };
            if label.trim().is_empty() || seen.contains(&label) {
                continue;
            }
            seen.push(label);
            let sample = self.sample(face);
            match self.open.iter_mut().find(|cue| cue.label == label) {
                Some(cue) => {
                    cue.end_ns = cue.end_ns.max(frame_end);
                    cue.add_sample(sample);
                }
                None => {
                    let mut cue = OpenCue {
                        label: label.to_owned(),
                        start_ns: pts_ns,
                        end_ns: frame_end,
                        sum_x: 0.0,
                        sum_top: 0.0,
                        samples: 0,
                    };
                    cue.add_sample(sample);
                    self.open.push(cue);
                }
            }
        }
    }

    /// Finish and return the cues sorted by start time (then end time,
    /// then label).
    pub fn finish(mut self) -> Vec<Cue> {
        self.flush_open();
        let mut cues = self.done;
        cues.sort_by(|a, b| {
            a.start_ns
                .cmp(&b.start_ns)
                .then(a.end_ns.cmp(&b.end_ns))
                .then_with(|| a.label.cmp(&b.label))
        });
        cues
    }

    fn effective_duration(&self, pts_ns: u64, duration_ns: u64) -> u64 {
        if duration_ns > 0 {
            return duration_ns;
        }
        if let Some(prev) = self.last_pts {
            let delta = pts_ns.saturating_sub(prev);
            if delta > 0 && delta <= MAX_INFERRED_FRAME_NS {
                return delta;
            }
        }
        self.last_duration.unwrap_or(DEFAULT_FRAME_NS)
    }

    /// Face centre-x and top as percentages of the frame, if computable.
    fn sample(&self, face: &NamedFace) -> Option<(f64, f64)> {
        if self.frame_width == 0 || self.frame_height == 0 {
            return None;
        }
        let r = face.rect;
        let cx = (f64::from(r.x) + f64::from(r.width) / 2.0) / f64::from(self.frame_width) * 100.0;
        let top = f64::from(r.y) / f64::from(self.frame_height) * 100.0;
        (cx.is_finite() && top.is_finite()).then(|| (cx.clamp(0.0, 100.0), top.clamp(0.0, 100.0)))
    }

    fn flush_open(&mut self) {
        for cue in std::mem::take(&mut self.open) {
            self.close(cue);
        }
    }

    fn close(&mut self, cue: OpenCue) {
        if cue.end_ns.saturating_sub(cue.start_ns) >= self.min_duration_ns {
            self.done.push(cue.into_cue());
        }
    }
}

/// One piece of a subtitle track muxed into a video: `text` (the names on screen, one per line,
/// or empty when nobody is named) from `start_ns` to `end_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackSample {
    /// Start time, in nanoseconds.
    pub start_ns: u64,
    /// End time (exclusive), in nanoseconds.
    pub end_ns: u64,
    /// Names on screen, one per line in the order they appeared; empty: nobody.
    pub text: String,
}

/// Turns the cues of a [`CueBuilder`], while frames are still coming, into a subtitle track for a
/// muxer: samples in order, back to back from 0, never overlapping (several people on screen
/// share one sample, a line each).
///
/// A muxer interleaves by time, so the track cannot wait for a cue to end: after each frame,
/// [`TrackWriter::advance`] returns what can no longer change. A cue still short enough to be
/// dropped as flicker holds the track at its start; a cue certain to be kept holds it at its
/// current end (a name back within the gap tolerance extends it). A stretch that stays the same
/// for longer than `max_sample_ns` is cut into pieces of that length, so the track lags the
/// frames by at most about `max_sample_ns` plus the flicker and gap thresholds. At every instant
/// the track shows the labels of the cues [`CueBuilder::finish`] returns for that instant.
#[derive(Debug)]
pub struct TrackWriter {
    max_sample_ns: u64,
    written_ns: u64,
    closed_seen: usize,
    /// Closed cues that reach past `written_ns`: label, start, end.
    pending: Vec<(String, u64, u64)>,
}

impl TrackWriter {
    /// A writer whose track starts at 0; `max_sample_ns` (at least 1 ns) bounds how long the last,
    /// still growing stretch may wait before a piece of it is written.
    pub fn new(max_sample_ns: u64) -> Self {
        TrackWriter {
            max_sample_ns: max_sample_ns.max(1),
            written_ns: 0,
            closed_seen: 0,
            pending: Vec::new(),
        }
    }

    /// Where the track written so far ends, in nanoseconds.
    pub fn written_ns(&self) -> u64 {
        self.written_ns
    }

    /// The samples that became final since the last call, after a frame was pushed into
    /// `builder`. `eos`: no frame will come any more; the track is written up to the end of the
    /// last frame.
    pub fn advance(&mut self, builder: &CueBuilder, eos: bool) -> Vec<TrackSample> {
        for cue in builder.done.iter().skip(self.closed_seen) {
            if cue.end_ns > self.written_ns {
                self.pending
                    .push((cue.label.clone(), cue.start_ns, cue.end_ns));
            }
        }
        self.closed_seen = builder.done.len();
        let Some(pts) = builder.last_pts else {
            return Vec::new();
        };
        let frame_end = pts.saturating_add(builder.last_duration.unwrap_or(0));
        let mut settled = if eos { frame_end } else { pts };
        let mut spans: Vec<(&str, u64, u64)> = self
            .pending
            .iter()
            .map(|(label, start, end)| (label.as_str(), *start, *end))
            .collect();
        for cue in &builder.open {
            let kept = cue.end_ns.saturating_sub(cue.start_ns) >= builder.min_duration_ns;
            let closing = splits(pts.saturating_sub(cue.end_ns), builder.gap_tolerance_ns);
            if !eos && !closing {
                settled = settled.min(if kept { cue.end_ns } else { cue.start_ns });
            }
            if kept {
                settled = if eos {
                    settled.max(cue.end_ns)
                } else {
                    settled
                };
                spans.push((cue.label.as_str(), cue.start_ns, cue.end_ns));
            }
        }
        if settled <= self.written_ns {
            return Vec::new();
        }
        let mut samples = timeline(&spans, self.written_ns, settled);
        // The last stretch may still grow: keep it back unless it is the end or long enough.
        if !eos && let Some(last) = samples.last_mut() {
            let length = last.end_ns - last.start_ns;
            if length < self.max_sample_ns {
                samples.pop();
            } else {
                last.end_ns = last.start_ns + length / self.max_sample_ns * self.max_sample_ns;
            }
        }
        let mut pieces = Vec::with_capacity(samples.len());
        for sample in samples {
            let mut start = sample.start_ns;
            while start < sample.end_ns {
                let end = sample.end_ns.min(start.saturating_add(self.max_sample_ns));
                pieces.push(TrackSample {
                    start_ns: start,
                    end_ns: end,
                    text: sample.text.clone(),
                });
                start = end;
            }
        }
        if let Some(last) = pieces.last() {
            self.written_ns = last.end_ns;
        }
        let written = self.written_ns;
        self.pending.retain(|(_, _, end)| *end > written);
        pieces
    }
}

/// The names on screen between `from` and `to`, as samples of constant text.
fn timeline(spans: &[(&str, u64, u64)], from: u64, to: u64) -> Vec<TrackSample> {
    let mut cuts: Vec<u64> = vec![from, to];
    for &(_, start, end) in spans {
        cuts.extend([start, end].into_iter().filter(|t| *t > from && *t < to));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut samples: Vec<TrackSample> = Vec::new();
    for window in cuts.windows(2) {
        let (a, b) = (window[0], window[1]);
        let mut on: Vec<(u64, &str)> = spans
            .iter()
            .filter(|(_, start, end)| *start <= a && *end >= b)
            .map(|&(label, start, _)| (start, label))
            .collect();
        on.sort_unstable();
        let mut names: Vec<&str> = Vec::with_capacity(on.len());
        for (_, label) in on {
            if !names.contains(&label) {
                names.push(label);
            }
        }
        let text = names
            .iter()
            .map(|l| single_line(l))
            .collect::<Vec<_>>()
            .join("\n");
        match samples.last_mut() {
            Some(last) if last.text == text => last.end_ns = b,
            _ => samples.push(TrackSample {
                start_ns: a,
                end_ns: b,
                text,
            }),
        }
    }
    samples
}

/// Whether a label absent for `gap` ns starts a new cue.
fn splits(gap: u64, tolerance: u64) -> bool {
    gap > 0 && gap >= tolerance
}

fn clamp_pct(value: f32, fallback: f32) -> f32 {
    if value.is_finite() {
        value.clamp(0.0, 100.0)
    } else {
        fallback
    }
}

/// Renders cues in the format.
///
/// WebVTT: a `WEBVTT` header, then blank-line separated cues with a
/// `HH:MM:SS.mmm --> HH:MM:SS.mmm position:NN% line:NN% align:center`
/// timing line placing the name just above the face, and the label
/// escaped (`&`, `<`, `>`). SRT: numbered cues with
/// `HH:MM:SS,mmm --> HH:MM:SS,mmm` and no position; `-->` in a label is
/// written as `->`. In both, newlines in labels become spaces. Start times
/// are rounded down and end times up to the millisecond; cues with
/// `end_ns <= start_ns` are skipped.
pub fn render(cues: &[Cue], format: Format) -> String {
    let mut out = String::new();
    if format == Format::WebVtt {
        out.push_str("WEBVTT\n");
    }
    let mut number: u64 = 0;
    for cue in cues.iter().filter(|c| c.end_ns > c.start_ns) {
        let start_ms = cue.start_ns / NS_PER_MS;
        let end_ms = cue.end_ns / NS_PER_MS + u64::from(cue.end_ns % NS_PER_MS != 0);
        let text = single_line(&cue.label);
        match format {
            Format::WebVtt => {
                let position = clamp_pct(cue.position_x_pct, 50.0).round();
                let line = (clamp_pct(cue.line_pct, 0.0) - LINE_OFFSET_PCT)
                    .clamp(0.0, 100.0)
                    .round();
                out.push('\n');
                out.push_str(&format!(
                    "{} --> {} position:{position:.0}% line:{line:.0}% align:center\n",
                    timestamp(start_ms, '.'),
                    timestamp(end_ms, '.'),
                ));
                out.push_str(&escape_vtt(&text));
                out.push('\n');
            }
            Format::Srt => {
                number = number.saturating_add(1);
                if number > 1 {
                    out.push('\n');
                }
                out.push_str(&format!(
                    "{number}\n{} --> {}\n",
                    timestamp(start_ms, ','),
                    timestamp(end_ms, ','),
                ));
                out.push_str(&text.replace("-->", "->"));
                out.push('\n');
            }
        }
    }
    out
}

/// `HH:MM:SS<sep>mmm` (hours grow beyond two digits when needed).
fn timestamp(total_ms: u64, sep: char) -> String {
    let ms = total_ms % 1000;
    let total_s = total_ms / 1000;
    let s = total_s % 60;
    let m = (total_s / 60) % 60;
    let h = total_s / 3600;
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

/// Replaces line breaks (and other control characters) by spaces.
fn single_line(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn escape_vtt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Total time on screen per label (ns), sorted by time desc (then label)
/// — for the CLI's "who appeared and for how long" summary.
///
/// Overlapping cues of the same label are counted once (their union).
pub fn screen_time(cues: &[Cue]) -> Vec<(String, u64)> {
    let mut intervals: Vec<(&str, u64, u64)> = cues
        .iter()
        .filter(|c| c.end_ns > c.start_ns)
        .map(|c| (c.label.as_str(), c.start_ns, c.end_ns))
        .collect();
    intervals.sort_unstable();

    let mut totals: Vec<(String, u64)> = Vec::new();
    let mut current: Option<(&str, u64, u64, u64)> = None; // label, total, run start, run end
    for (label, start, end) in intervals {
        current = match current {
            Some((l, total, rs, re)) if l == label => {
                if start <= re {
                    Some((l, total, rs, re.max(end)))
                } else {
                    Some((l, total.saturating_add(re - rs), start, end))
                }
            }
            other => {
                if let Some((l, total, rs, re)) = other {
                    totals.push((l.to_owned(), total.saturating_add(re - rs)));
                }
                Some((label, 0, start, end))
            }
        };
    }
    if let Some((l, total, rs, re)) = current {
        totals.push((l.to_owned(), total.saturating_add(re - rs)));
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::FaceBox;

    const MS: u64 = 1_000_000;
    const FRAME: u64 = 40 * MS; // 25 fps, exact in ns

    fn face(label: &str, x: f32, y: f32) -> NamedFace {
        NamedFace::labelled(
            FaceBox::new(x as i32, y as i32, 100, 120),
            Some(label.to_owned()),
        )
    }

    fn builder() -> CueBuilder {
        CueBuilder::new(1000, 500, 300 * MS, 250 * MS)
    }

    /// Feeds frames `from..to` (frame indices) with the given faces.
    fn feed(b: &mut CueBuilder, from: u64, to: u64, faces: &[NamedFace]) {
        for i in from..to {
            b.push_frame(i * FRAME, FRAME, faces);
        }
    }

    fn is_timestamp(s: &str, sep: char) -> bool {
        let b = s.as_bytes();
        if b.len() < 12 {
            return false;
        }
        let hours = &s[..s.len() - 10];
        let rest = &b[b.len() - 10..];
        hours.len() >= 2
            && hours.bytes().all(|c| c.is_ascii_digit())
            && rest[0] == b':'
            && rest[1..3].iter().all(u8::is_ascii_digit)
            && rest[1] < b'6'
            && rest[3] == b':'
            && rest[4..6].iter().all(u8::is_ascii_digit)
            && rest[4] < b'6'
            && rest[6] == sep as u8
            && rest[7..10].iter().all(u8::is_ascii_digit)
    }

    fn ts_ms(s: &str) -> u64 {
        let (hms, ms) = s.split_at(s.len() - 4);
        let ms: u64 = ms[1..].parse().unwrap();
        let parts: Vec<u64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
        ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000 + ms
    }

    /// Small WebVTT validator: returns (start_ms, end_ms, settings, text) per cue.
    fn parse_vtt(vtt: &str) -> Vec<(u64, u64, String, String)> {
        assert!(!vtt.contains('\r'));
        let mut blocks = vtt.split("\n\n");
        assert_eq!(blocks.next().unwrap(), "WEBVTT", "header");
        let mut cues = Vec::new();
        for block in blocks {
            let block = block.strip_suffix('\n').unwrap_or(block);
            let mut lines = block.split('\n');
            let timing = lines.next().unwrap();
            let mut parts = timing.splitn(4, ' ');
            let start = parts.next().unwrap();
            assert_eq!(parts.next(), Some("-->"), "{timing}");
            let end = parts.next().unwrap();
            let settings = parts.next().unwrap_or("").to_owned();
            assert!(is_timestamp(start, '.'), "bad start {start}");
            assert!(is_timestamp(end, '.'), "bad end {end}");
            let (s, e) = (ts_ms(start), ts_ms(end));
            assert!(s < e, "start < end in {timing}");
            let text: Vec<&str> = lines.collect();
            assert_eq!(text.len(), 1, "one text line per cue");
            assert!(!text[0].contains("-->") && !text[0].contains('<'));
            cues.push((s, e, settings, text[0].to_owned()));
        }
        cues
    }

    #[test]
    fn format_from_path() {
        assert_eq!(Format::from_path(Path::new("names.srt")), Format::Srt);
        assert_eq!(Format::from_path(Path::new("/a/NAMES.SRT")), Format::Srt);
        assert_eq!(Format::from_path(Path::new("names.vtt")), Format::WebVtt);
        assert_eq!(Format::from_path(Path::new("names")), Format::WebVtt);
        assert_eq!(Format::from_path(Path::new("srt")), Format::WebVtt);
        assert_eq!(Format::from_path(Path::new("a.srt.txt")), Format::WebVtt);
    }

    #[test]
    fn merges_consecutive_frames() {
        let mut b = builder();
        feed(&mut b, 10, 70, &[face("Tzuyu", 450.0, 100.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        let c = &cues[0];
        assert_eq!(c.start_ns, 10 * FRAME);
        assert_eq!(c.end_ns, 70 * FRAME);
        assert_eq!(c.label, "Tzuyu");
        assert!((c.position_x_pct - 50.0).abs() < 1e-3);
        assert!((c.line_pct - 20.0).abs() < 1e-3);
    }

    #[test]
    fn mean_position() {
        let mut b = builder();
        feed(&mut b, 0, 10, &[face("A", 100.0, 0.0)]);
        feed(&mut b, 10, 20, &[face("A", 300.0, 100.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        assert!((cues[0].position_x_pct - 25.0).abs() < 1e-3);
        assert!((cues[0].line_pct - 10.0).abs() < 1e-3);
    }

    #[test]
    fn short_gap_keeps_one_cue_long_gap_splits() {
        let f = [face("Sana", 0.0, 0.0)];
        // 3-frame gap = 120 ms < 250 ms tolerance.
        let mut b = builder();
        feed(&mut b, 0, 20, &f);
        feed(&mut b, 20, 23, &[]);
        feed(&mut b, 23, 40, &f);
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        assert_eq!((cues[0].start_ns, cues[0].end_ns), (0, 40 * FRAME));

        // 10-frame gap = 400 ms >= tolerance.
        let mut b = builder();
        feed(&mut b, 0, 20, &f);
        feed(&mut b, 20, 30, &[]);
        feed(&mut b, 30, 50, &f);
        let cues = b.finish();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_ns, cues[0].end_ns), (0, 20 * FRAME));
        assert_eq!((cues[1].start_ns, cues[1].end_ns), (30 * FRAME, 50 * FRAME));
    }

    #[test]
    fn gap_without_frames_also_splits() {
        // Frames missing entirely (no push) behave like empty frames.
        let f = [face("Sana", 0.0, 0.0)];
        let mut b = builder();
        feed(&mut b, 0, 20, &f);
        feed(&mut b, 30, 50, &f);
        assert_eq!(b.finish().len(), 2);
    }

    #[test]
    fn blip_is_dropped() {
        let mut b = builder();
        feed(&mut b, 0, 30, &[face("Mina", 0.0, 0.0)]);
        feed(&mut b, 40, 41, &[face("Jihyo", 0.0, 0.0)]);
        feed(&mut b, 50, 51, &[face("Mina", 0.0, 0.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].label, "Mina");
        assert_eq!(cues[0].end_ns, 30 * FRAME);
    }

    #[test]
    fn two_people_overlap() {
        let mut b = builder();
        feed(&mut b, 0, 20, &[face("Nayeon", 0.0, 0.0)]);
        feed(
            &mut b,
            20,
            40,
            &[face("Nayeon", 0.0, 0.0), face("Momo", 800.0, 50.0)],
        );
        feed(&mut b, 40, 60, &[face("Momo", 800.0, 50.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].label, "Nayeon");
        assert_eq!((cues[0].start_ns, cues[0].end_ns), (0, 40 * FRAME));
        assert_eq!(cues[1].label, "Momo");
        assert_eq!((cues[1].start_ns, cues[1].end_ns), (20 * FRAME, 60 * FRAME));
        assert!((cues[1].position_x_pct - 85.0).abs() < 1e-3);
    }

    #[test]
    fn duplicate_label_in_frame_uses_first_face() {
        let mut b = builder();
        feed(
            &mut b,
            0,
            20,
            &[face("A", 0.0, 0.0), face("A", 900.0, 400.0)],
        );
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        assert!((cues[0].position_x_pct - 5.0).abs() < 1e-3);
        assert!(cues[0].line_pct.abs() < 1e-3);
    }

    #[test]
    fn empty_labels_skipped() {
        let mut b = builder();
        feed(&mut b, 0, 20, &[face("", 0.0, 0.0), face("  \n", 0.0, 0.0)]);
        assert!(b.finish().is_empty());
    }

    #[test]
    fn backwards_pts_flushes() {
        let mut b = builder();
        feed(&mut b, 100, 120, &[face("A", 0.0, 0.0)]);
        feed(&mut b, 0, 20, &[face("A", 0.0, 0.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_ns, cues[0].end_ns), (0, 20 * FRAME));
        assert_eq!(
            (cues[1].start_ns, cues[1].end_ns),
            (100 * FRAME, 120 * FRAME)
        );
    }

    #[test]
    fn zero_durations() {
        // Inferred from the pts interval.
        let mut b = builder();
        for i in 0..20 {
            b.push_frame(i * FRAME, 0, &[face("A", 0.0, 0.0)]);
        }
        let cues = b.finish();
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].start_ns, 0);
        assert_eq!(cues[0].end_ns, 20 * FRAME);

        // No interval available: 1/30 s.
        let mut b = CueBuilder::new(1000, 500, 0, 0);
        b.push_frame(5, 0, &[face("A", 0.0, 0.0)]);
        let cues = b.finish();
        assert_eq!(cues[0].end_ns, 5 + DEFAULT_FRAME_NS);
    }

    #[test]
    fn huge_and_odd_values() {
        let mut b = CueBuilder::new(0, 0, 0, u64::MAX);
        b.push_frame(
            u64::MAX - 5,
            u64::MAX,
            &[face("A", f32::NAN, f32::INFINITY)],
        );
        b.push_frame(u64::MAX, 0, &[face("A", -1e30, 1e30)]);
        b.push_frame(0, 0, &[face("B", 0.0, 0.0)]);
        let cues = b.finish();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[1].end_ns, u64::MAX);
        for c in &cues {
            assert!((0.0..=100.0).contains(&c.position_x_pct));
            assert!((0.0..=100.0).contains(&c.line_pct));
        }
        let vtt = render(&cues, Format::WebVtt);
        assert!(vtt.contains("\n5124095:34:33.709 --> 5124095:34:33.710 position:50% line:0%"));
        let _ = render(&cues, Format::Srt);
        let _ = screen_time(&cues);

        let mut b = CueBuilder::new(1920, 1080, 0, 0);
        b.push_frame(0, 10, &[face("A", f32::MAX, f32::MIN)]);
        let cues = b.finish();
        assert!((0.0..=100.0).contains(&cues[0].position_x_pct));
    }

    /// Feeds frames to a builder and a track writer like `faceid annotate` does, checking after
    /// every frame that the track lags by less than the thresholds plus one piece; returns the
    /// track and the cues.
    fn write_track(
        frames: &[(u64, Vec<NamedFace>)],
        max_sample: u64,
    ) -> (Vec<TrackSample>, Vec<Cue>) {
        let mut b = builder();
        let mut writer = TrackWriter::new(max_sample);
        let mut track = Vec::new();
        for (pts, faces) in frames {
            b.push_frame(*pts, FRAME, faces);
            track.extend(writer.advance(&b, false));
            let lag = pts.saturating_sub(writer.written_ns());
            assert!(lag < 300 * MS + 250 * MS + max_sample, "lag {lag} at {pts}");
        }
        track.extend(writer.advance(&b, true));
        (track, b.finish())
    }

    /// The names the cues show at `t`, one per line, in order of appearance.
    fn names_at(cues: &[Cue], t: u64) -> String {
        let mut on: Vec<&Cue> = cues
            .iter()
            .filter(|c| c.start_ns <= t && t < c.end_ns)
            .collect();
        on.sort_by(|a, b| {
            a.start_ns
                .cmp(&b.start_ns)
                .then_with(|| a.label.cmp(&b.label))
        });
        on.iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Back to back from 0, each piece no longer than `max_sample`, and at every instant the
    /// names of the cues.
    fn check_track(track: &[TrackSample], cues: &[Cue], max_sample: u64) {
        let mut at = 0;
        for s in track {
            assert_eq!(s.start_ns, at, "{track:?}");
            assert!(
                s.end_ns > s.start_ns && s.end_ns - s.start_ns <= max_sample,
                "{s:?}"
            );
            for t in [s.start_ns, (s.start_ns + s.end_ns) / 2, s.end_ns - 1] {
                assert_eq!(s.text, names_at(cues, t), "at {t}: {track:?}\n{cues:?}");
            }
            at = s.end_ns;
        }
        let cue_end = cues.iter().map(|c| c.end_ns).max().unwrap_or(0);
        assert!(at >= cue_end, "track ends at {at}, cues at {cue_end}");
    }

    #[test]
    fn track_follows_the_cues_in_pieces() {
        // A on frames 10-99, a 2-frame blip of B at 20, B on 50-79 (overlapping A), a 3-frame
        // gap in A at 60 (under the tolerance), nobody from 100 to 149.
        let frames: Vec<(u64, Vec<NamedFace>)> = (0..150)
            .map(|i| {
                let mut faces = Vec::new();
                if (10..100).contains(&i) && !(60..63).contains(&i) {
                    faces.push(face("A", 10.0, 10.0));
                }
                if (20..22).contains(&i) || (50..80).contains(&i) {
                    faces.push(face("B", 500.0, 10.0));
                }
                (i * FRAME, faces)
            })
            .collect();
        let max_sample = 1000 * MS;
        let (track, cues) = write_track(&frames, max_sample);
        check_track(&track, &cues, max_sample);
        assert_eq!(track.last().map(|s| s.end_ns), Some(150 * FRAME));
        let texts: Vec<&str> = track.iter().map(|s| s.text.as_str()).collect();
        assert!(texts.contains(&"A\nB"), "{texts:?}");
        assert!(
            !texts.iter().any(|t| t.starts_with('B')),
            "the blip is dropped: {texts:?}"
        );
        // A's 3.6 s are cut into pieces of at most 1 s.
        let a_pieces = track.iter().filter(|s| s.text == "A").count();
        assert!(a_pieces >= 3, "{track:?}");
    }

    #[test]
    fn track_of_pseudo_random_frames_matches_the_cues() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let labels = ["A", "B", "쯔위"];
        let mut frames = Vec::new();
        let mut on = [false; 3];
        let mut pts = 0;
        for _ in 0..3000 {
            for flag in on.iter_mut() {
                if next() % 23 == 0 {
                    *flag = !*flag;
                }
            }
            let faces = labels
                .iter()
                .zip(on)
                .filter(|(_, on)| *on && next() % 9 != 0)
                .map(|(l, _)| face(l, 1.0, 1.0))
                .collect();
            frames.push((pts, faces));
            // Mostly steady frames, sometimes a skipped one.
            pts += FRAME * (1 + u64::from(next() % 17 == 0));
        }
        for max_sample in [FRAME, 700 * MS, 2000 * MS] {
            let (track, cues) = write_track(&frames, max_sample);
            assert!(!cues.is_empty());
            check_track(&track, &cues, max_sample);
        }
    }

    #[test]
    fn empty_track_until_the_end() {
        let mut b = builder();
        let mut w = TrackWriter::new(500 * MS);
        assert!(w.advance(&b, false).is_empty());
        assert!(w.advance(&b, true).is_empty());
        feed(&mut b, 0, 5, &[]);
        let all: Vec<TrackSample> = w.advance(&b, true);
        assert_eq!(
            all,
            vec![TrackSample {
                start_ns: 0,
                end_ns: 5 * FRAME,
                text: String::new()
            }]
        );
    }

    #[test]
    fn pseudo_random_input_does_not_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let labels = ["A", "B", "", "쯔위", "<x>"];
        let mut b = CueBuilder::new(640, 0, 1000, 5000);
        for _ in 0..2000 {
            let r = next();
            let pts = if r % 7 == 0 { next() } else { r % 100_000 };
            let dur = if r % 3 == 0 { 0 } else { next() % 10_000 };
            let n = (next() % 4) as usize;
            let faces: Vec<NamedFace> = (0..n)
                .map(|_| {
                    let v = next();
                    NamedFace::labelled(
                        FaceBox::new(v as i32, (v >> 32) as i32, (v % 300) as i32, 1),
                        Some(labels[(v % 5) as usize].to_owned()),
                    )
                })
                .collect();
            b.push_frame(pts, dur, &faces);
        }
        let cues = b.finish();
        assert!(cues.windows(2).all(|w| w[0].start_ns <= w[1].start_ns));
        let _ = render(&cues, Format::WebVtt);
        let _ = render(&cues, Format::Srt);
        let _ = screen_time(&cues);
    }

    #[test]
    fn webvtt_output_validates() {
        let mut b = builder();
        feed(&mut b, 0, 60, &[face("Dahyun", 450.0, 150.0)]);
        feed(&mut b, 30, 90, &[]); // no-op: pts goes backwards, flushes
        feed(&mut b, 100, 200, &[face("Chaeyoung", 0.0, 10.0)]);
        let cues = b.finish();
        let vtt = render(&cues, Format::WebVtt);
        assert!(vtt.starts_with("WEBVTT\n\n"));
        let parsed = parse_vtt(&vtt);
        assert_eq!(parsed.len(), 2);
        assert_eq!((parsed[0].0, parsed[0].1), (0, 2400));
        assert_eq!(parsed[0].2, "position:50% line:24% align:center");
        assert_eq!(parsed[0].3, "Dahyun");
        assert_eq!((parsed[1].0, parsed[1].1), (4000, 8000));
        // Face top at 2% => line clamped to 0.
        assert_eq!(parsed[1].2, "position:5% line:0% align:center");
        assert_eq!(
            vtt,
            "WEBVTT\n\n\
             00:00:00.000 --> 00:00:02.400 position:50% line:24% align:center\nDahyun\n\n\
             00:00:04.000 --> 00:00:08.000 position:5% line:0% align:center\nChaeyoung\n"
        );
    }

    #[test]
    fn render_rounding_and_invalid_cues() {
        let cue = |s, e| Cue {
            start_ns: s,
            end_ns: e,
            label: "A".into(),
            position_x_pct: f32::NAN,
            line_pct: 250.0,
        };
        let vtt = render(
            &[cue(1_000_400, 1_000_600), cue(5, 5), cue(9, 3)],
            Format::WebVtt,
        );
        let parsed = parse_vtt(&vtt);
        assert_eq!(parsed.len(), 1);
        assert_eq!((parsed[0].0, parsed[0].1), (1, 2));
        assert_eq!(parsed[0].2, "position:50% line:94% align:center");
        assert_eq!(render(&[], Format::WebVtt), "WEBVTT\n");
        assert_eq!(render(&[], Format::Srt), "");
    }

    #[test]
    fn srt_numbering_and_commas() {
        let mut b = builder();
        feed(&mut b, 0, 30, &[face("Jeongyeon", 0.0, 0.0)]);
        feed(&mut b, 25, 100, &[face("Jihyo", 0.0, 0.0)]);
        let cues = b.finish();
        let srt = render(&cues, Format::Srt);
        assert_eq!(
            srt,
            "1\n00:00:00,000 --> 00:00:01,200\nJeongyeon\n\n\
             2\n00:00:01,000 --> 00:00:04,000\nJihyo\n"
        );
        assert!(!srt.contains("position") && !srt.contains("{\\an"));
        for (i, block) in srt.split("\n\n").enumerate() {
            let lines: Vec<&str> = block.trim_end().split('\n').collect();
            assert_eq!(lines[0], (i + 1).to_string());
            let (s, e) = lines[1].split_once(" --> ").unwrap();
            assert!(is_timestamp(s, ',') && is_timestamp(e, ','));
        }
    }

    #[test]
    fn escaping_and_hangul() {
        let mut b = builder();
        feed(&mut b, 0, 30, &[face("<b>Tzuyu & 쯔위", 0.0, 0.0)]);
        feed(&mut b, 40, 80, &[face("쯔위\n트와이스", 0.0, 0.0)]);
        let cues = b.finish();
        assert_eq!(cues[0].label, "<b>Tzuyu & 쯔위");
        let vtt = render(&cues, Format::WebVtt);
        let parsed = parse_vtt(&vtt);
        assert_eq!(parsed[0].3, "&lt;b&gt;Tzuyu &amp; 쯔위");
        assert_eq!(parsed[1].3, "쯔위 트와이스");
        let srt = render(&cues, Format::Srt);
        assert!(srt.contains("\n쯔위 트와이스\n"));
        assert!(srt.contains("\n<b>Tzuyu & 쯔위\n"));
    }

    #[test]
    fn screen_time_sums() {
        let mut b = builder();
        feed(&mut b, 0, 25, &[face("A", 0.0, 0.0)]); // 1.0 s
        feed(&mut b, 25, 50, &[face("B", 0.0, 0.0)]); // 1.0 s
        feed(
            &mut b,
            100,
            150,
            &[face("A", 0.0, 0.0), face("C", 0.0, 0.0)],
        ); // 2.0 s each
        feed(&mut b, 200, 210, &[face("B", 0.0, 0.0)]); // 0.4 s
        let cues = b.finish();
        assert_eq!(cues.len(), 5);
        let st = screen_time(&cues);
        assert_eq!(
            st,
            vec![
                ("A".to_owned(), 3_000 * MS),
                ("C".to_owned(), 2_000 * MS),
                ("B".to_owned(), 1_400 * MS),
            ]
        );
        // Overlapping cues of one label count once.
        let mut dup = cues.clone();
        dup.push(cues[0].clone());
        assert_eq!(screen_time(&dup), st);
        assert!(screen_time(&[]).is_empty());
    }
}
