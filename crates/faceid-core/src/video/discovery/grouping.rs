//! Tracks into people: agglomerative clustering (average linkage) of the tracks' mean
//! encodings, with what video tells for free:
//!
//! - **Two tracks on screen at the same time are two people** (cannot-link): two groups that
//!   hold such a pair are never merged.
//! - **How close two different people come in this video**: the distances between tracks on
//!   screen together are distances between different people, measured on the video's own
//!   faces, light and cast. Groups merge only while their average distance stays below
//!   [`LINK_SHARE`] of the 10th percentile of those distances (and below
//!   [`GroupingConfig::max_link_distance`]). Look-alike members bring it down, a varied cast
//!   leaves the maximum (measured: bbt 0.45; BTS clips 0.35-0.41; Fresh Off the Boat 0.41).
//!
//! Measured with ground truth on 7 clips (bbt, the two BTS clips, four more BTS clips made
//! with `make_mv.py`) and by eye on Fresh Off the Boat: a share of 0.8 keeps every folder
//! pure except where two members' track means are nearer than the same member's other
//! photos (jhope and suga at 0.32-0.35: dlib's encoder cannot tell them apart), at the cost of
//! more folders a person on long clips (up to 7 on a 60 s clip); 0.9 gave purity 0.91-0.95
//! on the extra clips and mixed two of the three boys of Fresh Off the Boat at a maximum of
//! 0.5. A user merges folders by moving files; un-mixing one means looking at every crop, so
//! the rule errs towards splitting.
//! - Tracks the model named (with `-m`) go to their person, not into the clustering.
//!
//! Tried and left out: a WCCN of the within-track deviations (like [`crate::metric`] on a
//! model's photos). A track's encodings vary with its motion and blur, not with the light and
//! pose that separate two shots of one person: on the BTS clips purity fell from 0.90 to 0.76
//! at the same distance. A second round whitened by the first round's groups changed nothing.

use std::collections::BTreeMap;

use crate::encoding::{Encoding, distance};
use crate::training::group_photo::mean;

use super::TrackRecord;

/// Default [`GroupingConfig::max_link_distance`]: well under dlib's 0.6 for one person, since
/// a track's mean encoding is steadier than one photo's.
pub const DEFAULT_MAX_LINK_DISTANCE: f32 = 0.45;

/// The link distance is this share of the 10th percentile of the distances between tracks on
/// screen together: groups merge only clearly below how close different people come.
pub const LINK_SHARE: f32 = 0.8;

/// Tracks on screen together needed before their distances set the link distance; with fewer
/// the maximum is used.
pub const MIN_CANNOT_LINK_PAIRS: usize = 3;

/// Default [`GroupingConfig::min_frames`]: a third of a second at 30 frames/s.
pub const DEFAULT_MIN_FRAMES: u64 = 10;

/// How tracks are grouped.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupingConfig {
    /// The link distance's upper bound (dlib's scale).
    pub max_link_distance: f32,
    /// A fixed link distance instead of the one measured on the video.
    pub link_distance: Option<f32>,
    /// Tracks shown on fewer frames are left out (a false detection, a face glimpsed).
    pub min_frames: u64,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            max_link_distance: DEFAULT_MAX_LINK_DISTANCE,
            link_distance: None,
            min_frames: DEFAULT_MIN_FRAMES,
        }
    }
}

/// What grouping needs of a track.
#[derive(Clone, Debug)]
pub struct TrackSummary<'a> {
    pub encodings: &'a [Encoding],
    pub first_frame: u64,
    pub last_frame: u64,
    pub frames_shown: u64,
    /// The model's name for it, if any.
    pub name: Option<&'a str>,
}

impl<'a> TrackSummary<'a> {
    /// The summary of a collected track.
    pub fn of(t: &'a TrackRecord) -> TrackSummary<'a> {
        TrackSummary {
            encodings: &t.encodings,
            first_frame: t.first_frame,
            last_frame: t.last_frame,
            frames_shown: t.frames_shown,
            name: t.name(),
        }
    }

    /// Whether the two tracks were on screen at the same time.
    pub fn overlaps(&self, other: &TrackSummary<'_>) -> bool {
        self.first_frame <= other.last_frame && other.first_frame <= self.last_frame
    }
}

/// The result: groups of track indices (into the input), and the tracks left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grouping {
    /// Named people first (by name), then the clusters in order of first appearance; each
    /// group's tracks in input order.
    pub people: Vec<Vec<usize>>,
    /// Tracks too short or never encoded.
    pub left_out: Vec<usize>,
    /// The link distance used.
    pub link_distance: f32,
    /// Pairs of clustered tracks on screen together (the link distance's evidence).
    pub cannot_link_pairs: usize,
}

/// The link distance for tracks with mean encodings `means` (see the module documentation):
/// `(distance, pairs on screen together)`.
pub fn link_distance(
    means: &[Encoding],
    cannot_link: &dyn Fn(usize, usize) -> bool,
    max: f32,
) -> (f32, usize) {
    let mut apart: Vec<f32> = Vec::new();
    for a in 0..means.len() {
        for b in 0..a {
            if cannot_link(a, b) {
                let d = distance(&means[a], &means[b]);
                if d.is_finite() {
                    apart.push(d);
                }
            }
        }
    }
    if apart.len() < MIN_CANNOT_LINK_PAIRS {
        return (max, apart.len());
    }
    apart.sort_by(f32::total_cmp);
    // The 10th percentile, linearly interpolated.
    let pos = 0.1 * (apart.len() - 1) as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let q = apart[lo] + (apart[hi] - apart[lo]) * (pos - lo as f32);
    ((LINK_SHARE * q).min(max), apart.len())
}

/// Groups `tracks` into people.
pub fn group(tracks: &[TrackSummary<'_>], config: &GroupingConfig) -> Grouping {
    let mut grouping = Grouping::default();
    let mut named: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        if t.encodings.is_empty() || t.frames_shown < config.min_frames {
            grouping.left_out.push(i);
            continue;
        }
        match t.name {
            Some(name) => named.entry(name).or_default().push(i),
            None => unnamed.push(i),
        }
    }
    grouping.people.extend(named.into_values());
    let means: Vec<Encoding> = unnamed
        .iter()
        .filter_map(|&i| mean(&tracks[i].encodings.iter().collect::<Vec<_>>()))
        .collect();
    let overlaps = |a: usize, b: usize| tracks[unnamed[a]].overlaps(&tracks[unnamed[b]]);
    let (measured, pairs) = link_distance(&means, &overlaps, config.max_link_distance);
    grouping.link_distance = config.link_distance.unwrap_or(measured);
    grouping.cannot_link_pairs = pairs;
    let clusters = average_linkage(&means, &overlaps, grouping.link_distance);
    let mut clusters: Vec<Vec<usize>> = clusters
        .into_iter()
        .map(|c| {
            let mut c: Vec<usize> = c.into_iter().map(|k| unnamed[k]).collect();
            c.sort_unstable();
            c
        })
        .collect();
    clusters.sort_by_key(|c| c.iter().map(|&i| tracks[i].first_frame).min());
    grouping.people.extend(clusters);
    grouping
}

/// Agglomerative clustering of `points`: the two clusters with the smallest average pairwise
/// distance merge while it is below `link`, unless `cannot_link` holds for a pair of their
/// members. Deterministic: ties go to the lowest indices.
pub fn average_linkage(
    points: &[Encoding],
    cannot_link: &dyn Fn(usize, usize) -> bool,
    link: f32,
) -> Vec<Vec<usize>> {
    let n = points.len();
    // Sums of pairwise distances between clusters, and whether they may not merge; cluster
    // `a` lives at index a (its lowest member) until merged into another.
    let mut sum = vec![0.0f64; n * n];
    let mut forbidden = vec![false; n * n];
    for a in 0..n {
        for b in 0..a {
            let d = f64::from(distance(&points[a], &points[b]));
            let d = if d.is_finite() { d } else { f64::INFINITY };
            sum[a * n + b] = d;
            sum[b * n + a] = d;
            let c = cannot_link(a, b);
            forbidden[a * n + b] = c;
            forbidden[b * n + a] = c;
        }
    }
    let mut members: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for a in 0..n {
            let Some(ma) = &members[a] else { continue };
            for b in (a + 1)..n {
                let Some(mb) = &members[b] else { continue };
                if forbidden[a * n + b] {
                    continue;
                }
                let average = sum[a * n + b] / (ma.len() * mb.len()) as f64;
                if average < f64::from(link) && best.is_none_or(|(d, _, _)| average < d) {
                    best = Some((average, a, b));
                }
            }
        }
        let Some((_, a, b)) = best else { break };
        let mb = members[b].take().unwrap_or_default();
        for k in 0..n {
            if k == a || k == b || members[k].is_none() {
                continue;
            }
            let s = sum[a * n + k] + sum[b * n + k];
            sum[a * n + k] = s;
            sum[k * n + a] = s;
            let f = forbidden[a * n + k] || forbidden[b * n + k];
            forbidden[a * n + k] = f;
            forbidden[k * n + a] = f;
        }
        if let Some(ma) = members[a].as_mut() {
            ma.extend(mb);
        }
    }
    members.into_iter().flatten().collect()
}
