//! Look-alike members (BTS, `samples/kpop/`): the names a fan sees on the sample clips, from
//! clean and from messy training folders, and the faces of one frame named together.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use faceid_core::face_result::parse_lines;
use faceid_core::geometry::FaceBox;
use faceid_core::model::{Classifier, Model};
use faceid_core::report::evaluation::score_clip_with_confusion;
use faceid_core::video::identity::name_jointly;
use faceid_dlib::{FacePipeline, Weights, WeightsConfig, resolve_models_dir};

fn kpop(name: &str) -> PathBuf {
    samples().join("kpop/clips").join(name)
}

/// `faceid eval` of `model` on the clip `name`: the score line and the whole output.
fn clip_scores(model: &Path, name: &str) -> (serde_json::Value, String) {
    let out = faceid_command()
        .arg("eval")
        .arg("-m")
        .arg(model)
        .arg("--ground-truth")
        .arg(kpop(&format!("{name}.gt.jsonl")))
        .arg(kpop(&format!("{name}.mp4")))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with('{')).unwrap();
    (serde_json::from_str(line).unwrap(), stdout)
}

/// `scripts/make-messy-set.sh`'s messy download folder from the bts15 clip's training photos,
/// in `dir`.
fn make_messy_set(dir: &Path) {
    let status = Command::new(checkout().join("scripts/make-messy-set.sh"))
        .arg(kpop("bts15_mv_720p-train"))
        .arg(samples().join("johns"))
        .arg(samples().join("bbt/_group"))
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

fn figure(s: &serde_json::Value, name: &str) -> f64 {
    s[name].as_f64().unwrap()
}

#[test]
fn members_are_named_with_almost_no_wrong_name_from_15_photos_each() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bts15.faceid");
    train_folder(&kpop("bts15_mv_720p-train"), &model);
    let (s, out) = clip_scores(&model, "bts15_mv_720p");
    // Before the look-alike work: named_ok 0.800, wrong_name 0.113 (issue 11); before the hub
    // offsets 0.840, before a track's margin shrank with its encodings 0.887, now 0.984: the
    // issue's target.
    assert!(figure(&s, "named_ok") >= 0.95, "{out}");
    assert!(figure(&s, "wrong_name") <= 0.02, "{out}");
    assert!(figure(&s, "flicker_per_100") <= 0.5, "{out}");
    assert!(out.contains("true \\ given"), "a confusion table: {out}");
}

#[test]
fn with_5_photos_a_member_more_faces_are_named_than_before() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bts.faceid");
    train_folder(&kpop("bts_mv_720p-train"), &model);
    let (s, out) = clip_scores(&model, "bts_mv_720p");
    // Before: named_ok 0.485, wrong_name 0.050. Before the hub offsets 0.591 with 0.078
    // wrong (two of suga's shots took jhope's name: jhope's mean lies amid the group's); now
    // 0.557 with none wrong: suga stays unknown; with a track's margin shrinking with its
    // encodings 0.606, none wrong. The 0.70 is not reached (docs/design-choices.md).
    assert!(figure(&s, "named_ok") >= 0.58, "{out}");
    assert!(figure(&s, "wrong_name") <= 0.02, "{out}");
    assert!(
        out.contains("nobody was given another person's name"),
        "{out}"
    );
}

#[test]
fn a_member_missing_from_the_model_is_seldom_given_another_members_name() {
    // A fan who trains on six of the seven members: the seventh is a stranger of the group's
    // own kind, who looks like the group rather than like one member.
    let dir = tempfile::tempdir().unwrap();
    let six = dir.path().join("six");
    std::fs::create_dir(&six).unwrap();
    let train = kpop("bts_mv_720p-train");
    for member in ["jhope", "jimin", "jin", "jungkook", "rm", "v"] {
        std::os::unix::fs::symlink(train.join(member), six.join(member)).unwrap();
    }
    let model = dir.path().join("six.faceid");
    train_folder(&six, &model);
    let detections = dir.path().join("faces.jsonl");
    faceid_succeeds(
        faceid_command()
            .arg("annotate")
            .arg(kpop("bts_mv_720p.mp4"))
            .arg("-m")
            .arg(&model)
            .arg("--no-video")
            .arg("--detections")
            .arg(&detections),
    );
    let read = |p: &Path| parse_lines(&std::fs::read_to_string(p).unwrap()).unwrap();
    let gt = read(&kpop("bts_mv_720p.gt.jsonl"));
    let (_, confusion) = score_clip_with_confusion(&gt, &read(&detections), 0.3);
    let suga_faces = gt
        .values()
        .flatten()
        .filter(|f| f.label.as_deref() == Some("suga"))
        .count();
    let named: usize = confusion
        .mix_ups()
        .iter()
        .filter(|(truth, _, _)| truth == "suga")
        .map(|(_, _, n)| n)
        .sum();
    // 0.46 of his faces got a member's name (mostly jhope's) before a face farther from a
    // member than the members' own photos needed a clearer lead; 0.18 since.
    let share = named as f64 / suga_faces as f64;
    assert!(share <= 0.3, "{named} of suga's {suga_faces} faces named");
}

#[test]
fn a_messy_download_folder_trains_to_the_names_of_the_clean_one() {
    let dir = tempfile::tempdir().unwrap();
    let messy = dir.path().join("messy");
    make_messy_set(&messy);
    let (clean_model, messy_model) = (
        dir.path().join("clean.faceid"),
        dir.path().join("messy.faceid"),
    );
    train_folder(&kpop("bts15_mv_720p-train"), &clean_model);
    let report = train_folder(&messy, &messy_model);
    // What a fan should see in the report: strangers, crowds of strangers and drawings left
    // out; other members' photos left out as looking like them; the phone photo read upright
    // (a duplicate of the photo it was made from).
    let left_out = |what: &str| {
        report
            .lines()
            .filter(|l| l.contains(what) && l.contains("left out"))
            .count()
    };
    assert_eq!(left_out("zz-stranger"), 14, "{report}");
    assert_eq!(left_out("zz-crowd"), 7, "{report}");
    assert!(left_out("zz-other") >= 12, "{report}");
    assert!(
        !report.contains("zz-phone.jpg: left out: no face"),
        "{report}"
    );
    let (clean, _) = clip_scores(&clean_model, "bts15_mv_720p");
    let (dirty, out) = clip_scores(&messy_model, "bts15_mv_720p");
    assert!(
        figure(&dirty, "named_ok") >= figure(&clean, "named_ok") - 0.02,
        "clean {clean}, messy {out}"
    );
    assert!(figure(&dirty, "wrong_name") <= 0.02, "{out}");
}

#[test]
fn the_faces_of_a_frame_are_never_given_one_name_twice() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bts.faceid");
    train_folder(&kpop("bts_mv_720p-train"), &model);
    let mut classifier = Classifier::new(&Model::load(&model).unwrap());
    // Every face named (no margin), so that faces named alone can collide: with the default
    // margin and the hub offsets, none of these frames' faces share a name even alone.
    classifier.set_margin(0.0);
    let weights = Weights::load(&WeightsConfig::new(resolve_models_dir(None))).unwrap();
    let pipeline = FacePipeline::new(weights);
    let clip = kpop("bts_mv_720p.mp4");
    let gt = kpop("bts_mv_720p.gt.jsonl");
    let (mut duplicates_alone, mut right_alone, mut right_joint, mut frames) = (0, 0, 0, 0);
    for (index, sample) in video_frames(&clip, 0, 599).iter().enumerate().step_by(10) {
        let truth = ground_truth(&gt, index);
        if truth.len() < 2 {
            continue;
        }
        frames += 1;
        let buffer = sample.buffer().unwrap();
        let map = buffer.map_readable().unwrap();
        let frame = bgrx_view(sample, &map);
        let boxes: Vec<FaceBox> = truth
            .iter()
            .map(|(_, _, b)| FaceBox {
                x: b[0],
                y: b[1],
                width: b[2],
                height: b[3],
            })
            .collect();
        let encodings = pipeline.encode(&frame, &boxes, 1);
        let name =
            |p: &faceid_core::model::Prediction| p.label().map(|l| classifier.labels()[l].clone());
        let alone: Vec<Option<String>> = encodings
            .iter()
            .map(|e| name(&classifier.classify(e)))
            .collect();
        let joint: Vec<Option<String>> = name_jointly(&classifier, &encodings, &[])
            .iter()
            .map(name)
            .collect();
        let twice = |names: &[Option<String>]| {
            let named: Vec<&String> = names.iter().flatten().collect();
            (1..named.len()).any(|i| named[..i].contains(&named[i]))
        };
        assert!(!twice(&joint), "frame {index}: {joint:?}");
        duplicates_alone += usize::from(twice(&alone));
        let right = |names: &[Option<String>]| {
            names
                .iter()
                .zip(&truth)
                .filter(|(n, t)| n.as_deref() == Some(t.0.as_str()))
                .count()
        };
        right_alone += right(&alone);
        right_joint += right(&joint);
    }
    assert!(frames >= 30, "{frames} frames with several members");
    // The case exists on these real frames: named alone, two faces would share a name.
    assert!(duplicates_alone >= 1, "{duplicates_alone}");
    assert!(
        right_joint >= right_alone,
        "joint {right_joint}, alone {right_alone}"
    );
    eprintln!(
        "{frames} frames: one name twice alone in {duplicates_alone}; right names alone {right_alone}, jointly {right_joint}"
    );
}

/// `faceid train DIR -o MODEL --encoder sface`; its standard output.
fn train_sface(dir: &Path, model: &Path) -> String {
    let out = faceid_succeeds(
        faceid_command()
            .arg("train")
            .arg(dir)
            .arg("-o")
            .arg(model)
            .args(["--encoder", "sface"]),
    );
    let text = std::fs::read_to_string(model).unwrap();
    assert!(text.contains("\"name\":\"sface\""));
    out
}

#[test]
fn sface_names_members_from_15_photos_each_and_a_messy_folder_as_the_clean_one() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("bts15.faceid");
    train_sface(&kpop("bts15_mv_720p-train"), &clean);
    let (s, out) = clip_scores(&clean, "bts15_mv_720p");
    // dlib's encoder: 0.984; SFace (margin 0.02, far lead d/40): 0.978, none wrong. The
    // issue's 0.98 is missed by one shot's first frames (docs/design-choices.md).
    assert!(figure(&s, "named_ok") >= 0.95, "{out}");
    assert!(figure(&s, "wrong_name") <= 0.01, "{out}");
    let messy_dir = dir.path().join("messy");
    make_messy_set(&messy_dir);
    let messy = dir.path().join("messy.faceid");
    train_sface(&messy_dir, &messy);
    let (m, out) = clip_scores(&messy, "bts15_mv_720p");
    // 0.987 against the clean folder's 0.978.
    assert!(
        figure(&m, "named_ok") >= figure(&s, "named_ok") - 0.01,
        "{out}"
    );
    assert!(figure(&m, "wrong_name") <= 0.01, "{out}");
}

#[test]
fn sface_with_5_photos_a_member_names_more_faces_than_dlib() {
    let dir = tempfile::tempdir().unwrap();
    let (sface, dlib) = (
        dir.path().join("sface.faceid"),
        dir.path().join("dlib.faceid"),
    );
    train_sface(&kpop("bts_mv_720p-train"), &sface);
    train_folder(&kpop("bts_mv_720p-train"), &dlib);
    let (s, out) = clip_scores(&sface, "bts_mv_720p");
    let (d, _) = clip_scores(&dlib, "bts_mv_720p");
    // dlib 0.606, SFace 0.649. SFace's one wrong shot (0.076 of the named faces): jungkook in
    // a soft photo, head tilted, hand at the chin, nearer v's five photos than his own five.
    assert!(
        figure(&s, "named_ok") > figure(&d, "named_ok"),
        "sface {s} dlib {d}"
    );
    assert!(figure(&s, "wrong_name") <= 0.09, "{out}");
}
