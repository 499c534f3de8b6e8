//! A track's name from its recent classifications: confidence-weighted votes with hysteresis.

use std::collections::VecDeque;

use super::{MIN_VOTE_WEIGHT, TIE_EPSILON};

/// One classification of a track's face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Label index, `None` for unknown / stranger.
    pub label: Option<usize>,
    /// Confidence in `0..=1` (non-finite is treated as 0, values are clamped).
    pub confidence: f32,
    /// Distance to the nearest training photo (NaN is treated as infinity).
    pub distance: f32,
}

impl Observation {
    pub(super) fn sanitized(self) -> Self {
        let confidence = if self.confidence.is_finite() {
            self.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let distance = if self.distance.is_nan() {
            f32::INFINITY
        } else {
            self.distance.max(0.0)
        };
        Self {
            label: self.label,
            confidence,
            distance,
        }
    }

    fn weight(&self) -> f32 {
        self.confidence.max(MIN_VOTE_WEIGHT)
    }
}

/// The identity decided for a track from its votes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity {
    /// Winning label, `None` = unknown / stranger.
    pub label: Option<usize>,
    /// Mean confidence of the winning label's observations in the window.
    pub confidence: f32,
    /// Minimum distance among the winning label's observations.
    pub distance: f32,
    /// Number of observations in the window voting for the winning label.
    pub votes: usize,
}

/// Accumulated votes of one label within the window.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tally {
    label: Option<usize>,
    weight: f32,
    confidence_sum: f32,
    min_distance: f32,
    count: usize,
}

impl Tally {
    fn identity(&self) -> Identity {
        let confidence = if self.count > 0 {
            self.confidence_sum / self.count as f32
        } else {
            0.0
        };
        Identity {
            label: self.label,
            confidence,
            distance: self.min_distance,
            votes: self.count,
        }
    }
}

/// Tallies the votes per label, ordered by the recency of each label's
/// latest vote (most recent first).
pub(super) fn tally(observations: &VecDeque<Observation>) -> Vec<Tally> {
    let mut tallies: Vec<Tally> = Vec::new();
    for obs in observations.iter().rev() {
        match tallies.iter_mut().find(|t| t.label == obs.label) {
            Some(t) => {
                t.weight += obs.weight();
                t.confidence_sum += obs.confidence;
                t.min_distance = t.min_distance.min(obs.distance);
                t.count += 1;
            }
            None => tallies.push(Tally {
                label: obs.label,
                weight: obs.weight(),
                confidence_sum: obs.confidence,
                min_distance: obs.distance,
                count: 1,
            }),
        }
    }
    tallies
}

/// Vote with hysteresis. `previous` is the last decision, `margin >= 1`.
pub(super) fn decide(
    observations: &VecDeque<Observation>,
    previous: Option<&Identity>,
    margin: f32,
) -> Option<Identity> {
    let tallies = tally(observations);
    // Highest weight; ties go to the earliest entry = most recent label.
    let mut best: Option<&Tally> = None;
    for t in &tallies {
        match best {
            Some(b) if t.weight <= b.weight + TIE_EPSILON => {}
            _ => best = Some(t),
        }
    }
    let best = best?;
    if let Some(prev) = previous
        && prev.label != best.label
        && let Some(incumbent) = tallies.iter().find(|t| t.label == prev.label)
        && best.weight <= incumbent.weight * margin
    {
        return Some(incumbent.identity());
    }
    Some(best.identity())
}
