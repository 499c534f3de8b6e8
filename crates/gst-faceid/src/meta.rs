//! The faces `faceidoverlay` reports, as types: what the element attaches to each buffer (a
//! `GstVideoRegionOfInterestMeta` of type `face` with a `faceid` parameter structure) and posts
//! on the bus (an element message `faceid` per frame). A face is the core's [`NamedFace`], whose
//! file spells every field; the element writes it with [`FaceMeta::to_structure`] and
//! [`FrameFaces::to_structure`], and applications, the `faceid` command and the tests read
//! them back with [`FaceMeta::from_roi_meta`] and [`FrameFaces::from_message`].
//!
//! ```no_run
//! # use gst::prelude::*;
//! # fn on_message(msg: &gst::Message) {
//! if let Some(frame) = gstfaceid::meta::FrameFaces::from_message(msg) {
//!     for face in &frame.faces {
//!         println!("frame {}: {} at {:?}", frame.frame, face.name().unwrap_or("unknown"), face.rect);
//!     }
//! }
//! # }
//! ```

use faceid_core::face_result::structure_field as field;
pub use faceid_core::face_result::{NamedFace, UNKNOWN};
use faceid_core::geometry::FaceBox;

/// Name of the ROI meta type, of its parameter structure and of the element message.
pub const ROI_TYPE: &str = "face";
/// Name of the ROI meta's parameter structure and of the per-frame element message.
pub const STRUCTURE_NAME: &str = "faceid";

/// A [`NamedFace`] on a buffer and in GStreamer structures. Bring it into scope to call
/// `NamedFace::all_in_buffer(buffer)` and the like.
pub trait FaceMeta: Sized {
    /// The `faceid` structure (`label`, `known`, `confident`, `best-match`, `confidence`,
    /// `distance`, `track` with -1 for none; with `with_box`, also `x`, `y`, `width`,
    /// `height`).
    fn to_structure(&self, with_box: bool) -> gst::Structure;
    /// Reads a `faceid` structure; the box from its `x`, `y`, `width`, `height` fields, or
    /// `rect` when they are absent (a ROI meta's parameter holds no box). `None` when it is
    /// not one.
    fn from_structure(s: &gst::StructureRef, rect: Option<FaceBox>) -> Option<Self>;
    /// The face of a `face` ROI meta, if it is one of the overlay's.
    fn from_roi_meta(meta: &gst_video::VideoRegionOfInterestMeta) -> Option<Self>;
    /// Every face the overlay attached to `buffer`.
    fn all_in_buffer(buffer: &gst::BufferRef) -> Vec<Self>;
    /// Attaches this face to `buffer` as a `face` ROI meta (box clipped to the frame) with
    /// its `faceid` parameter.
    fn add_to_buffer(&self, buffer: &mut gst::BufferRef, width: u32, height: u32);
}

impl FaceMeta for NamedFace {
    fn to_structure(&self, with_box: bool) -> gst::Structure {
        let mut s = gst::Structure::builder(STRUCTURE_NAME)
            .field(field::LABEL, self.label.as_deref().unwrap_or(UNKNOWN))
            .field(field::KNOWN, self.label.is_some())
            .field(field::CONFIDENT, self.confident)
            .field(field::BEST_MATCH, self.best_match.as_str())
            .field(field::CONFIDENCE, self.confidence)
            .field(field::DISTANCE, self.distance)
            .field(
                field::TRACK,
                self.track.map_or(-1, |t| t.min(i64::MAX as u64) as i64),
            )
            .build();
        if with_box {
            let r = self.rect;
            for (name, value) in field::BOX.into_iter().zip([r.x, r.y, r.width, r.height]) {
                s.set(name, value);
            }
        }
        s
    }

    fn from_structure(s: &gst::StructureRef, rect: Option<FaceBox>) -> Option<NamedFace> {
        if s.name() != STRUCTURE_NAME {
            return None;
        }
        let known = s.get::<bool>(field::KNOWN).ok()?;
        let [x, y, width, height] = field::BOX.map(|name| s.get::<i32>(name).ok());
        let own_box = match (x, y, width, height) {
            (Some(x), Some(y), Some(width), Some(height)) => {
                Some(FaceBox::new(x, y, width, height))
            }
            _ => None,
        };
        Some(NamedFace {
            rect: own_box.or(rect)?,
            label: known.then(|| s.get::<String>(field::LABEL).ok()).flatten(),
            confident: s.get(field::CONFIDENT).unwrap_or(false),
            best_match: s.get(field::BEST_MATCH).unwrap_or_default(),
            confidence: s.get(field::CONFIDENCE).unwrap_or(0.0),
            distance: s.get(field::DISTANCE).unwrap_or(f64::INFINITY),
            track: s
                .get::<i64>(field::TRACK)
                .ok()
                .and_then(|t| u64::try_from(t).ok()),
        })
    }

    fn from_roi_meta(meta: &gst_video::VideoRegionOfInterestMeta) -> Option<NamedFace> {
        if meta.roi_type() != ROI_TYPE {
            return None;
        }
        let (x, y, w, h) = meta.rect();
        let rect = FaceBox::new(x as i32, y as i32, w as i32, h as i32);
        NamedFace::from_structure(meta.param(STRUCTURE_NAME)?, Some(rect))
    }

    fn all_in_buffer(buffer: &gst::BufferRef) -> Vec<NamedFace> {
        buffer
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .filter_map(|m| NamedFace::from_roi_meta(&m))
            .collect()
    }

    fn add_to_buffer(&self, buffer: &mut gst::BufferRef, width: u32, height: u32) {
        let Some(b) = self.rect.clipped(width as usize, height as usize) else {
            return;
        };
        let mut meta = gst_video::VideoRegionOfInterestMeta::add(
            buffer,
            ROI_TYPE,
            (b.x as u32, b.y as u32, b.width as u32, b.height as u32),
        );
        if let Some(track) = self.track {
            meta.set_id(track.min(i32::MAX as u64) as i32);
        }
        meta.add_param(self.to_structure(false));
    }
}

/// Every face of one frame, as the overlay posts it.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameFaces {
    /// Frame number since the element started (0 first).
    pub frame: u64,
    /// The buffer's presentation time, when it had one.
    pub timestamp: Option<gst::ClockTime>,
    /// Its faces, left to right.
    pub faces: Vec<NamedFace>,
}

impl FrameFaces {
    /// The `faceid` element message's structure (`frame`, `timestamp` with `u64::MAX` for
    /// none, `faces`: a list of `faceid` structures with boxes).
    pub fn to_structure(&self) -> gst::Structure {
        let faces = gst::List::new(self.faces.iter().map(|f| f.to_structure(true)));
        gst::Structure::builder(STRUCTURE_NAME)
            .field("frame", self.frame)
            .field(
                "timestamp",
                self.timestamp.map_or(u64::MAX, gst::ClockTime::nseconds),
            )
            .field("faces", faces)
            .build()
    }

    /// Reads a `faceid` structure of this kind; `None` when it is not one.
    pub fn from_structure(s: &gst::StructureRef) -> Option<FrameFaces> {
        if s.name() != STRUCTURE_NAME {
            return None;
        }
        let frame = s.get::<u64>("frame").ok()?;
        let timestamp = s
            .get::<u64>("timestamp")
            .ok()
            .filter(|t| *t != u64::MAX)
            .map(gst::ClockTime::from_nseconds);
        let faces = s
            .get::<gst::List>("faces")
            .ok()?
            .iter()
            .filter_map(|v| v.get::<gst::Structure>().ok())
            .filter_map(|f| NamedFace::from_structure(&f, None))
            .collect();
        Some(FrameFaces {
            frame,
            timestamp,
            faces,
        })
    }

    /// The frame's faces, if `msg` is the overlay's `faceid` element message.
    pub fn from_message(msg: &gst::Message) -> Option<FrameFaces> {
        match msg.view() {
            gst::MessageView::Element(e) => FrameFaces::from_structure(e.structure()?),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(label: Option<&str>, track: Option<u64>) -> NamedFace {
        NamedFace {
            rect: FaceBox::new(10, 20, 30, 40),
            label: label.map(str::to_string),
            confident: label.is_some(),
            best_match: "jimin".into(),
            confidence: 0.75,
            distance: 0.41,
            track,
        }
    }

    #[test]
    fn a_face_and_a_frame_round_trip_through_their_structures() {
        gst::init().unwrap();
        for f in [face(Some("jimin"), Some(7)), face(None, None)] {
            let s = f.to_structure(true);
            assert_eq!(NamedFace::from_structure(&s, None), Some(f.clone()));
            assert_eq!(
                s.get::<String>("label").unwrap(),
                f.name().unwrap_or(UNKNOWN)
            );
            // Without a box of its own, the structure takes the one it is given.
            let bare = f.to_structure(false);
            assert_eq!(NamedFace::from_structure(&bare, None), None);
            assert_eq!(
                NamedFace::from_structure(&bare, Some(f.rect)),
                Some(f.clone())
            );
        }
        let frame = FrameFaces {
            frame: 3,
            timestamp: Some(gst::ClockTime::from_mseconds(100)),
            faces: vec![face(Some("v"), Some(1)), face(None, Some(2))],
        };
        assert_eq!(
            FrameFaces::from_structure(&frame.to_structure()),
            Some(frame.clone())
        );
        let none = FrameFaces {
            timestamp: None,
            ..frame
        };
        assert_eq!(FrameFaces::from_structure(&none.to_structure()), Some(none));
        let other = gst::Structure::new_empty("something-else");
        assert_eq!(FrameFaces::from_structure(&other), None);
        assert_eq!(NamedFace::from_structure(&other, None), None);
    }

    #[test]
    fn faces_ride_on_buffers_as_roi_metas_clipped_to_the_frame() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let inside = face(Some("rm"), Some(4));
        let mut edge = face(None, None);
        edge.rect = FaceBox::new(-5, 90, 20, 20);
        let outside = NamedFace {
            rect: FaceBox::new(500, 500, 10, 10),
            ..face(None, None)
        };
        {
            let b = buffer.get_mut().unwrap();
            for f in [&inside, &edge, &outside] {
                f.add_to_buffer(b, 100, 100);
            }
        }
        let read = NamedFace::all_in_buffer(&buffer);
        assert_eq!(read.len(), 2, "the face outside the frame is not attached");
        assert_eq!(read[0], inside);
        assert_eq!(read[1].rect, FaceBox::new(0, 90, 15, 10));
        assert_eq!(read[1].label, None);
    }
}
