//! Who is in a video: the tracks the analyzer followed, grouped into people, each with a few
//! good face crops (what `faceid discover` writes as one folder per person to train on).
//!
//! - [`Collector`] takes every analysed frame: each track's frames on screen, its encodings
//!   (made by the analyzer anyway, [`crate::video::analyzer::TrackEncoding`]) and, for each
//!   encoding, a crop of the face with margin, scored for sharpness and size ([`crops`]). It
//!   keeps the best [`crops::CANDIDATES_PER_TRACK`] crops a track, so memory stays bounded by
//!   the number of tracks, not the video's length.
//! - [`Collector::finish`] groups the tracks ([`grouping`]): tracks named by a model go to their
//!   person; the others are clustered, two tracks on screen at the same time never together.
//!   Each person gets up to [`crops::CROPS_PER_TRACK`] crops from each of its tracks.

pub mod crops;
pub mod grouping;

use std::collections::{BTreeMap, HashMap};

use crate::encoding::Encoding;
use crate::face_result::FaceResult;
use crate::frame::FrameRef;
use crate::geometry::FaceBox;
use crate::video::analyzer::TrackEncoding;
use crops::{Candidates, Crop};
pub use grouping::{Grouping, GroupingConfig, TrackSummary};

/// What is known of one track at the end.
#[derive(Clone, Debug, Default)]
pub struct TrackRecord {
    /// The analyzer's track id.
    pub id: u64,
    /// First and last frame the track was shown on.
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames it was shown on.
    pub frames_shown: u64,
    /// Its encodings, in order.
    pub encodings: Vec<Encoding>,
    /// For each encoding, the frame and the face's box it was made from.
    pub encoded_at: Vec<(u64, FaceBox)>,
    /// Frames shown with each name the model gave it (no model: empty).
    pub names: HashMap<String, u64>,
    /// Its best crops so far.
    crops: Candidates,
}

impl TrackRecord {
    /// The name the model gave the track on most of its frames, when that is more than half of
    /// them.
    pub fn name(&self) -> Option<&str> {
        let (name, frames) = self
            .names
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        (*frames * 2 > self.frames_shown).then_some(name.as_str())
    }
}

/// One person found: a named one (the model knew them) or a new one.
#[derive(Clone, Debug)]
pub struct Person {
    /// The model's name for them, `None` for someone the model does not know.
    pub name: Option<String>,
    /// Their tracks' ids.
    pub tracks: Vec<u64>,
    /// Frames they are on screen (summed over tracks).
    pub frames_shown: u64,
    /// First frame they appear on.
    pub first_frame: u64,
    /// Their chosen crops, best first within each track, tracks in order of appearance.
    pub crops: Vec<Crop>,
}

/// Gathers tracks, encodings and crops frame by frame.
#[derive(Default)]
pub struct Collector {
    tracks: BTreeMap<u64, TrackRecord>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// One analysed frame: its faces as reported, and the encodings made on it (with the boxes
    /// they were made from). `index` counts frames from 0.
    pub fn add_frame(
        &mut self,
        index: u64,
        frame: &FrameRef<'_>,
        faces: &[FaceResult],
        encoded: &[TrackEncoding],
    ) {
        for face in faces {
            let Some(id) = face.track else { continue };
            let track = self.tracks.entry(id).or_insert_with(|| TrackRecord {
                id,
                first_frame: index,
                ..TrackRecord::default()
            });
            track.last_frame = index;
            track.frames_shown += 1;
            if let Some(name) = &face.label {
                *track.names.entry(name.clone()).or_default() += 1;
            }
        }
        for e in encoded {
            let track = self.tracks.entry(e.track).or_insert_with(|| TrackRecord {
                id: e.track,
                first_frame: index,
                last_frame: index,
                ..TrackRecord::default()
            });
            if e.encoding.iter().any(|v| !v.is_finite()) {
                continue;
            }
            track.encodings.push(e.encoding);
            track.encoded_at.push((index, e.rect));
            if let Some(crop) = Crop::cut(frame, index, e.rect, e.encoding) {
                track.crops.offer(crop);
            }
        }
    }

    /// The tracks gathered so far, by id.
    pub fn tracks(&self) -> impl Iterator<Item = &TrackRecord> {
        self.tracks.values()
    }

    /// The people: named ones first (by name), then the new ones in order of appearance.
    pub fn finish(self, config: &GroupingConfig) -> (Vec<Person>, Grouping) {
        let records: Vec<TrackRecord> = self.tracks.into_values().collect();
        let summaries: Vec<TrackSummary> = records.iter().map(TrackSummary::of).collect();
        let grouping = grouping::group(&summaries, config);
        let mut records: Vec<Option<TrackRecord>> = records.into_iter().map(Some).collect();
        let mut people: Vec<Person> = grouping
            .people
            .iter()
            .map(|group| {
                let mut tracks: Vec<TrackRecord> =
                    group.iter().filter_map(|&i| records[i].take()).collect();
                tracks.sort_by_key(|t| t.first_frame);
                Person {
                    name: tracks.first().and_then(|t| t.name()).map(str::to_string),
                    tracks: tracks.iter().map(|t| t.id).collect(),
                    frames_shown: tracks.iter().map(|t| t.frames_shown).sum(),
                    first_frame: tracks.first().map_or(0, |t| t.first_frame),
                    crops: tracks
                        .into_iter()
                        .flat_map(|t| t.crops.choose(crops::CROPS_PER_TRACK))
                        .collect(),
                }
            })
            .collect();
        people.sort_by(|a, b| {
            (a.name.is_none(), &a.name, a.first_frame).cmp(&(
                b.name.is_none(),
                &b.name,
                b.first_frame,
            ))
        });
        (people, grouping)
    }
}

#[cfg(test)]
mod tests;
