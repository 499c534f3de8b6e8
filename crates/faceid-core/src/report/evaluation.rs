//! Scoring: per-frame detections against ground truth (the same figures as the project's
//! `scripts/score.py`), labelled photos (top-1 accuracy, strangers named, confusion), and a
//! model's own photos by leave-one-out.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::face_result::{NamedFace, UNKNOWN};
use crate::model::{Classifier, Model, ModelError, TrainOptions, TrainingSet};

/// The figures `scripts/score.py` prints.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClipScore {
    /// Frames in the ground truth.
    pub frames: usize,
    /// Faces in the ground truth.
    pub gt_faces: usize,
    /// Ground-truth faces matched by a detection box (IoU >= threshold).
    pub recall: f64,
    /// Ground-truth faces given the right name (or no name for strangers).
    pub named_ok: f64,
    /// Named detections that are wrong or match no face, over all named detections.
    pub wrong_name: f64,
    /// Changes of the given name along ground-truth tracks, per 100 faces.
    pub flicker_per_100: f64,
    /// Named detections per frame.
    pub named_detections_per_frame: f64,
}

/// Scores detections against ground truth like `scripts/score.py` (IoU threshold 0.3, the
/// label "unknown" meaning a stranger).
pub fn score_clip(
    gt: &BTreeMap<u64, Vec<NamedFace>>,
    det: &BTreeMap<u64, Vec<NamedFace>>,
    iou_threshold: f64,
) -> ClipScore {
    score_clip_with_confusion(gt, det, iou_threshold).0
}

/// What a ground-truth face that no detection matched is counted as in the confusion table.
pub const NOT_FOUND: &str = "(not found)";

/// [`score_clip`] and, per ground-truth face, its true label against the name it was given
/// (`None`: unknown; [`NOT_FOUND`] when no detection matched it): which people the model
/// mixes up.
pub fn score_clip_with_confusion(
    gt: &BTreeMap<u64, Vec<NamedFace>>,
    det: &BTreeMap<u64, Vec<NamedFace>>,
    iou_threshold: f64,
) -> (ClipScore, PhotoEvaluation) {
    let mut confusion = PhotoEvaluation::default();
    // Reading a line maps "" and "unknown" to no name.
    let named = |f: &NamedFace| f.label.is_some();
    let (mut n_gt, mut matched, mut named_ok, mut n_named, mut wrong, mut changes) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    let mut last_label: HashMap<u64, Option<String>> = HashMap::new();
    let empty = Vec::new();
    for (frame, gfaces) in gt {
        let dfaces = det.get(frame).unwrap_or(&empty);
        let mut used = HashSet::new();
        for g in gfaces {
            let g_label = g.label.clone().unwrap_or_else(|| UNKNOWN.to_string());
            let mut best = (0.0, None);
            for (i, d) in dfaces.iter().enumerate() {
                let v = if used.contains(&i) {
                    0.0
                } else {
                    f64::from(g.rect.iou(&d.rect))
                };
                if v > best.0 {
                    best = (v, Some(i));
                }
            }
            n_gt += 1;
            let mut given = None;
            match best {
                (v, Some(i)) if v >= iou_threshold => {
                    used.insert(i);
                    matched += 1;
                    let d = &dfaces[i];
                    given = named(d).then(|| d.label.clone()).flatten();
                    confusion.add(&g_label, given.as_deref());
                    match &given {
                        Some(name) if *name == g_label => named_ok += 1,
                        None if g_label == UNKNOWN => named_ok += 1,
                        Some(_) => wrong += 1,
                        None => {}
                    }
                }
                _ => {
                    confusion.add(&g_label, Some(NOT_FOUND));
                    if g_label == UNKNOWN {
                        named_ok += 1;
                    }
                }
            }
            if let Some(track) = g.track {
                if last_label.get(&track).is_some_and(|l| *l != given) {
                    changes += 1;
                }
                last_label.insert(track, given);
            }
        }
        for (i, d) in dfaces.iter().enumerate() {
            if named(d) {
                n_named += 1;
                if !used.contains(&i) {
                    wrong += 1;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let round = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    let score = ClipScore {
        frames: gt.len(),
        gt_faces: n_gt,
        recall: round(ratio(matched, n_gt), 4),
        named_ok: round(ratio(named_ok, n_gt), 4),
        wrong_name: round(ratio(wrong, n_named), 4),
        flicker_per_100: round(100.0 * ratio(changes, n_gt), 3),
        named_detections_per_frame: round(ratio(n_named, gt.len()), 4),
    };
    (score, confusion)
}

/// Results of naming labelled photos: `truth` is a person's name or "unknown" for strangers,
/// `given` the name the model gave the photo's main face (None: unknown, or no face found).
#[derive(Clone, Debug, Default)]
pub struct PhotoEvaluation {
    rows: Vec<(String, Option<String>)>,
}

impl PhotoEvaluation {
    /// Records one photo.
    pub fn add(&mut self, truth: &str, given: Option<&str>) {
        self.rows
            .push((truth.to_string(), given.map(str::to_string)));
    }

    /// Photos of known people named right, over photos of known people.
    pub fn top1_accuracy(&self) -> f64 {
        let known: Vec<_> = self.rows.iter().filter(|(t, _)| t != "unknown").collect();
        let right = known
            .iter()
            .filter(|(t, g)| g.as_deref() == Some(t))
            .count();
        if known.is_empty() {
            0.0
        } else {
            right as f64 / known.len() as f64
        }
    }

    /// Photos of strangers, and how many of them got a name.
    pub fn strangers_named(&self) -> (usize, usize) {
        let strangers: Vec<_> = self.rows.iter().filter(|(t, _)| t == "unknown").collect();
        (
            strangers.iter().filter(|(_, g)| g.is_some()).count(),
            strangers.len(),
        )
    }

    /// The pairs of different people mixed up, most often first: (true, given, count).
    /// Unknown and not-found faces are not mix-ups.
    pub fn mix_ups(&self) -> Vec<(String, String, usize)> {
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (t, g) in &self.rows {
            if let Some(g) = g
                && g != t
                && g != NOT_FOUND
            {
                *counts.entry((t.clone(), g.clone())).or_default() += 1;
            }
        }
        let mut out: Vec<(String, String, usize)> =
            counts.into_iter().map(|((t, g), n)| (t, g, n)).collect();
        out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
        out
    }

    /// Confusion table as text: one row per true label, one column per given label.
    pub fn confusion_table(&self) -> String {
        let mut truths: Vec<String> = self.rows.iter().map(|(t, _)| t.clone()).collect();
        truths.sort();
        truths.dedup();
        let mut givens: Vec<String> = self
            .rows
            .iter()
            .map(|(_, g)| g.clone().unwrap_or_else(|| "unknown".into()))
            .collect();
        givens.sort();
        givens.dedup();
        let width = truths
            .iter()
            .chain(&givens)
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut out = format!("{:<width$}", "true \\ given");
        for g in &givens {
            out.push_str(&format!(" {g:>width$}"));
        }
        out.push('\n');
        for t in &truths {
            out.push_str(&format!("{t:<width$}"));
            for g in &givens {
                let n = self
                    .rows
                    .iter()
                    .filter(|(rt, rg)| rt == t && rg.as_deref().unwrap_or("unknown") == g)
                    .count();
                out.push_str(&format!(" {n:>width$}"));
            }
            out.push('\n');
        }
        out
    }
}

/// Leave-one-out over a model's photos: each photo the classifier uses is named by a model
/// trained (and calibrated) on all the others, from the encodings stored in the model file, so
/// nothing is detected or encoded again. Shows whether a person's photos agree with each other
/// and are told apart from everyone else's.
pub fn leave_one_out(model: &Model) -> Result<PhotoEvaluation, ModelError> {
    let options = TrainOptions {
        // The model's photos were cleaned when it was trained; keep the folds as they are.
        clean: false,
        ..TrainOptions::default()
    };
    let mut evaluation = PhotoEvaluation::default();
    for (held_out, sample) in model.samples.iter().enumerate() {
        let Some(truth) = model.labels.get(sample.label) else {
            continue;
        };
        let mut set = TrainingSet::new(None);
        for (i, other) in model.samples.iter().enumerate() {
            if let (true, Some(label)) = (i != held_out, model.labels.get(other.label)) {
                set.add(
                    label,
                    other.encoding,
                    other.motion_blurred,
                    other.source.clone(),
                );
            }
        }
        let fold = set.train(model.encoder.clone(), &options)?;
        // The held-out photo itself, sharp: its blurred copy left with it.
        let prediction = Classifier::new(&fold).classify(&sample.encoding);
        let given = prediction.label().and_then(|l| fold.labels.get(l));
        evaluation.add(truth, given.map(String::as_str));
    }
    Ok(evaluation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face_result::parse_lines;

    #[test]
    fn scores_like_score_py() {
        let gt = parse_lines(
            r#"{"frame": 0, "faces": [{"box": [0, 0, 10, 10], "label": "amy", "track": 1}, {"box": [50, 50, 10, 10], "label": "unknown", "track": 2}]}
{"frame": 1, "faces": [{"box": [0, 0, 10, 10], "label": "amy", "track": 1}]}"#,
        )
        .unwrap();
        let det = parse_lines(
            r#"{"frame": 0, "faces": [{"box": [1, 0, 10, 10], "label": "amy"}, {"box": [50, 50, 10, 10], "label": null}, {"box": [90, 90, 10, 10], "label": "raj"}]}
{"frame": 1, "faces": [{"box": [0, 0, 10, 10], "label": "raj"}]}"#,
        )
        .unwrap();
        let s = score_clip(&gt, &det, 0.3);
        assert_eq!(s.gt_faces, 3);
        assert_eq!(s.recall, 1.0);
        assert_eq!(s.named_ok, 0.6667);
        // raj unmatched in frame 0, raj wrong in frame 1, of 3 named detections.
        assert_eq!(s.wrong_name, 0.6667);
        assert_eq!(s.flicker_per_100, 33.333);
        let (again, confusion) = score_clip_with_confusion(&gt, &det, 0.3);
        assert_eq!(again, s);
        assert_eq!(confusion.mix_ups(), [("amy".into(), "raj".into(), 1)]);
        // A face no detection matched is "not found", not a mix-up.
        let (_, missed) = score_clip_with_confusion(&gt, &BTreeMap::new(), 0.3);
        assert!(missed.mix_ups().is_empty());
        assert!(missed.confusion_table().contains(NOT_FOUND));
    }

    #[test]
    fn photo_figures_and_confusion() {
        let mut e = PhotoEvaluation::default();
        e.add("amy", Some("amy"));
        e.add("amy", Some("raj"));
        e.add("raj", Some("raj"));
        e.add("unknown", None);
        e.add("unknown", Some("amy"));
        assert!((e.top1_accuracy() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.strangers_named(), (1, 2));
        let table = e.confusion_table();
        assert!(table.lines().count() == 4, "{table}");
        assert!(table.contains("amy"));
    }
}
