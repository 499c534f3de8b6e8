//! What the analyzer says about one face of a frame ([`FaceResult`]), and the one record every
//! output reports it as ([`NamedFace`]): the element's metas and messages, the detections
//! file (`--detections`), subtitles and evaluation all read and write this type, and this file
//! is the one that spells its fields (and those of `discover`'s index, [`CropLine`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::geometry::FaceBox;

/// One face found in a frame and what the model says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceResult {
    /// Where, in frame pixels.
    pub rect: FaceBox,
    /// The person's name when known, `None` for a stranger.
    pub label: Option<String>,
    /// The closest person, even for a stranger.
    pub best_match: String,
    /// Softmax confidence of `best_match`.
    pub confidence: f32,
    /// Distance to the nearest training photo of `best_match`.
    pub distance: f32,
    /// Every person's confidence, best first.
    pub scores: Vec<(String, f32)>,
    /// Track id, when the face is followed over frames.
    pub track: Option<u64>,
}

/// The label of a face nobody knows, where a label must be text (GStreamer structures, drawing);
/// JSON writes `null` and reads either.
pub const UNKNOWN: &str = "unknown";

/// One face as every output reports it. In JSON (a line of `--detections`, ground truth):
/// `{"best_match": "jimin", "box": [x, y, w, h], "confidence": 0.93, "confident": true,
/// "distance": 0.41, "label": "jimin", "track": 3}`; only `box` is required when reading, and
/// a `label` of `null`, `""` or `"unknown"` means nobody. The fields are declared in the order
/// the file has always had them (alphabetical).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedFace {
    /// The most likely person, even for an unknown face.
    #[serde(default)]
    pub best_match: String,
    /// Where, in frame pixels.
    #[serde(rename = "box", with = "box_xywh")]
    pub rect: FaceBox,
    /// Confidence of `best_match`, 0-1.
    #[serde(default)]
    pub confidence: f64,
    /// Whether it is drawn confident (known, confidence at least the element's `threshold`).
    #[serde(default)]
    pub confident: bool,
    /// Distance to `best_match`'s nearest training photo (infinite, `null` in JSON, when
    /// unknown).
    #[serde(default = "infinite", deserialize_with = "null_as_infinite")]
    pub distance: f64,
    /// The name, `None` when the face is unknown (a stranger, or two people about as likely).
    #[serde(default, deserialize_with = "label_or_unknown")]
    pub label: Option<String>,
    /// The track the face is followed in, when tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<u64>,
}

impl NamedFace {
    /// What the analyzer said, `confident` when it is known and at least `threshold` sure.
    pub fn from_result(r: &FaceResult, threshold: f32) -> NamedFace {
        NamedFace {
            best_match: r.best_match.clone(),
            rect: r.rect,
            confidence: f64::from(r.confidence),
            confident: r.label.is_some() && r.confidence >= threshold,
            distance: f64::from(r.distance),
            label: r.label.clone(),
            track: r.track,
        }
    }

    /// A face known only by its box and label (ground truth, a discovered crop).
    pub fn labelled(rect: FaceBox, label: Option<String>) -> NamedFace {
        NamedFace {
            best_match: label.clone().unwrap_or_default(),
            rect,
            confidence: 0.0,
            confident: false,
            distance: f64::INFINITY,
            label,
            track: None,
        }
    }

    /// The name, `None` when unknown.
    pub fn name(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

/// A [`NamedFace`]'s fields as the GStreamer element spells them in its `faceid` structures
/// (the ROI meta's parameter and the element message), which have always used GStreamer's
/// dashes where JSON has underscores.
pub mod structure_field {
    /// The name, or [`super::UNKNOWN`].
    pub const LABEL: &str = "label";
    /// Whether `label` is a name.
    pub const KNOWN: &str = "known";
    /// [`super::NamedFace::confident`].
    pub const CONFIDENT: &str = "confident";
    /// [`super::NamedFace::best_match`].
    pub const BEST_MATCH: &str = "best-match";
    /// [`super::NamedFace::confidence`].
    pub const CONFIDENCE: &str = "confidence";
    /// [`super::NamedFace::distance`].
    pub const DISTANCE: &str = "distance";
    /// [`super::NamedFace::track`], -1 for none.
    pub const TRACK: &str = "track";
    /// The box's left edge, top edge, width and height.
    pub const BOX: [&str; 4] = ["x", "y", "width", "height"];
}

/// One frame's faces: a line of a detections or ground-truth file,
/// `{"faces": [..], "frame": 12}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameLine {
    /// The frame's faces.
    #[serde(default)]
    pub faces: Vec<NamedFace>,
    /// Frame number, 0 first.
    pub frame: u64,
}

impl FrameLine {
    /// The line as written to a file, without its newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One face crop `faceid discover` wrote: a line of its `index.jsonl`,
/// `{"box": [x, y, w, h], "file": "person-01/000123.jpg", "frame": 123, "person": "person-01"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CropLine {
    /// The face in the frame, in frame pixels.
    #[serde(rename = "box", with = "box_xywh")]
    pub rect: FaceBox,
    /// The crop's file, relative to the index.
    pub file: String,
    /// The frame it was cut from, 0 first.
    pub frame: u64,
    /// The folder it is in: a name the model gave, or `person-NN`.
    pub person: String,
}

impl CropLine {
    /// The line as written to the index, without its newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads JSON lines into faces per frame. Blank lines are skipped; a bad line is an error
/// naming its number.
pub fn parse_lines(text: &str) -> Result<BTreeMap<u64, Vec<NamedFace>>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: FrameLine =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        out.insert(l.frame, l.faces);
    }
    Ok(out)
}

fn infinite() -> f64 {
    f64::INFINITY
}

fn null_as_infinite<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

fn label_or_unknown<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|l| !l.is_empty() && l != UNKNOWN))
}

/// A box as `[x, y, w, h]`; read from any numbers (rounded), so hand-made ground truth with
/// fractional pixels loads.
pub mod box_xywh {
    use super::*;

    /// Writes `[x, y, w, h]`.
    pub fn serialize<S: serde::Serializer>(b: &FaceBox, s: S) -> Result<S::Ok, S::Error> {
        [b.x, b.y, b.width, b.height].serialize(s)
    }

    /// Reads `[x, y, w, h]`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FaceBox, D::Error> {
        let [x, y, w, h] = <[f64; 4]>::deserialize(d)?;
        let px = |v: f64| v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
        Ok(FaceBox::new(px(x), px(y), px(w), px(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(label: Option<&str>, confidence: f32, track: Option<u64>) -> FaceResult {
        FaceResult {
            rect: FaceBox::new(10, 20, 30, 40),
            label: label.map(str::to_string),
            best_match: "jimin".into(),
            confidence,
            distance: 0.5,
            scores: vec![("jimin".into(), confidence)],
            track,
        }
    }

    #[test]
    fn confident_means_known_and_at_least_the_threshold() {
        assert!(NamedFace::from_result(&result(Some("jimin"), 0.5, None), 0.5).confident);
        assert!(!NamedFace::from_result(&result(Some("jimin"), 0.49, None), 0.5).confident);
        assert!(!NamedFace::from_result(&result(None, 0.99, None), 0.5).confident);
    }

    #[test]
    fn a_frame_line_is_written_and_read_through_the_same_type() {
        let line = FrameLine {
            frame: 7,
            faces: vec![
                NamedFace::from_result(&result(Some("jimin"), 0.75, Some(3)), 0.5),
                NamedFace::from_result(&result(None, 0.25, None), 0.5),
            ],
        };
        let json = line.to_json();
        assert_eq!(
            json,
            r#"{"faces":[{"best_match":"jimin","box":[10,20,30,40],"confidence":0.75,"confident":true,"distance":0.5,"label":"jimin","track":3},{"best_match":"jimin","box":[10,20,30,40],"confidence":0.25,"confident":false,"distance":0.5,"label":null}],"frame":7}"#
        );
        assert_eq!(parse_lines(&json).unwrap()[&7], line.faces);
        // An unknown distance is written null and read back infinite.
        let far = FrameLine {
            frame: 0,
            faces: vec![NamedFace::labelled(FaceBox::new(0, 0, 5, 5), None)],
        };
        assert_eq!(parse_lines(&far.to_json()).unwrap()[&0], far.faces);
    }

    #[test]
    fn ground_truth_lines_read_with_only_a_box() {
        let faces = parse_lines(
            r#"{"frame": 2, "faces": [{"box": [1.4, 2.6, 10, 10], "label": "unknown", "track": 1}, {"box": [0, 0, 3, 3], "label": "amy"}, {"box": [0, 0, 3, 3], "label": ""}]}"#,
        )
        .unwrap()
        .remove(&2)
        .unwrap();
        assert_eq!(faces[0].rect, FaceBox::new(1, 3, 10, 10));
        assert_eq!(faces[0].label, None, "\"unknown\" is nobody");
        assert_eq!(faces[0].track, Some(1));
        assert_eq!(faces[1].name(), Some("amy"));
        assert_eq!(faces[2].label, None, "an empty label is nobody");
        assert_eq!(faces[1].distance, f64::INFINITY);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let err = parse_lines("{\"frame\": 0}\nnot json").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        assert!(parse_lines("{\"frame\": 0, \"faces\": [{\"label\": \"x\"}]}").is_err());
    }
}
