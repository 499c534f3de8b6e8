//! faceidtrain on real photos: skipped photos are counted, the rest trained, failures keep the
//! old model.

mod common;

use common::*;
use faceid_core::model::Model;
use gst::prelude::*;

#[test]
fn a_group_photo_gives_the_face_like_the_person_and_a_photo_without_a_face_is_counted() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let mut files = bbt_photos("sheldon", 1..=3);
    files.push(samples().join("bbt/_group/bbt2.jpg")); // leonard and sheldon: which one?
    files.push(samples().join("fr_examples/_group/two_people.jpg")); // obama and biden only
    files.push(samples().join("bbt/_video/video.mp4")); // faces of 30 px: none found
    let result = train(
        &files,
        &[
            ("label", &"sheldon"),
            ("location", &location.to_str().unwrap()),
        ],
    );
    assert!(result.error.is_none(), "{}", result.error_text());

    let outcomes: Vec<String> = result
        .messages
        .iter()
        .filter(|s| s.name() == "faceidtrain-frame")
        .map(|s| s.get::<String>("outcome").unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "used",
            "used",
            "used",
            "group-photo",
            "group-photo",
            "no-face"
        ]
    );
    let summary = result.message("faceidtrain").expect("summary message");
    assert_eq!(summary.get::<u64>("skipped-no-face").unwrap(), 1);
    assert_eq!(summary.get::<u64>("group-photos").unwrap(), 2);
    assert_eq!(summary.get::<u64>("photos").unwrap(), 4);

    let model = Model::load(&location).unwrap();
    assert_eq!(model.labels, ["sheldon"]);
    assert_eq!(model.counts(), [4]);
    // The face kept from bbt2 is sheldon's: nearer his held-out photos than leonard's.
    let kept = model
        .samples
        .iter()
        .find(|s| s.source == "frame 3")
        .unwrap();
    let reference = dir.path().join("held-out.faceid");
    for person in ["sheldon", "leonard"] {
        let r = train(
            &bbt_photos(person, 4..=5),
            &[
                ("label", &person),
                ("location", &reference.to_str().unwrap()),
            ],
        );
        assert!(r.error.is_none(), "{}", r.error_text());
    }
    let reference = Model::load(&reference).unwrap();
    let nearest = |person: &str| {
        let label = reference.label_index(person).unwrap();
        reference
            .samples
            .iter()
            .filter(|s| s.label == label)
            .map(|s| faceid_core::encoding::distance(&s.encoding, &kept.encoding))
            .fold(f32::MAX, f32::min)
    };
    assert!(nearest("sheldon") < nearest("leonard"));
    // Obama and Biden are nobody's sheldon: left out, with why.
    let strangers = model
        .left_out
        .iter()
        .find(|l| l.sample.source == "frame 4")
        .unwrap();
    assert!(
        strangers.reason.starts_with("a photo of 2 faces"),
        "{}",
        strangers.reason
    );
}

#[test]
fn append_adds_people_and_retraining_a_person_replaces_their_photos() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let loc = location.to_str().unwrap();
    for (person, photos) in [("amy", 1..=3), ("raj", 1..=2), ("amy", 4..=5)] {
        let result = train(
            &bbt_photos(person, photos),
            &[("label", &person), ("location", &loc)],
        );
        assert!(result.error.is_none(), "{}", result.error_text());
    }
    let model = Model::load(&location).unwrap();
    assert_eq!(model.labels, ["amy", "raj"]);
    assert_eq!(model.counts(), [2, 2]);

    // append=false starts over.
    let result = train(
        &bbt_photos("penny", 1..=1),
        &[("label", &"penny"), ("location", &loc), ("append", &false)],
    );
    assert!(result.error.is_none(), "{}", result.error_text());
    assert_eq!(Model::load(&location).unwrap().labels, ["penny"]);
}

#[test]
fn label_comes_from_the_title_tag() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! pngdec ! videoconvert ! taginject name=tags ! faceidtrain location=\"{}\"",
        bbt_photos("howard", [1])[0].display(),
        location.display()
    ));
    pipeline
        .by_name("tags")
        .unwrap()
        .set_property("tags", "title=\"Howard Wolowitz\"");
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{}", result.error_text());
    assert_eq!(Model::load(&location).unwrap().labels, ["Howard Wolowitz"]);
}

#[test]
fn a_run_without_a_usable_face_is_an_error_and_keeps_the_old_model() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let loc = location.to_str().unwrap();
    let result = train(
        &bbt_photos("leonard", 1..=2),
        &[("label", &"leonard"), ("location", &loc)],
    );
    assert!(result.error.is_none());
    let before = std::fs::read(&location).unwrap();

    let result = train(
        &[samples().join("bbt/_group/bbt3.jpg")],
        &[("label", &"leonard"), ("location", &loc)],
    );
    let (message, _) = result.error.expect("no usable face is an error");
    assert!(message.contains("No usable face"), "{message}");
    assert_eq!(
        std::fs::read(&location).unwrap(),
        before,
        "old model untouched"
    );

    // EOS without any buffer: the same.
    let result = train(&[], &[("label", &"leonard"), ("location", &loc)]);
    assert!(result.error.is_some());
    assert_eq!(std::fs::read(&location).unwrap(), before);
}

#[test]
fn missing_label_and_location_say_what_to_set() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().join("m.faceid");
    let result = train(
        &bbt_photos("amy", [1]),
        &[("location", &loc.to_str().unwrap())],
    );
    assert!(
        result.error_text().contains("set the label property"),
        "{}",
        result.error_text()
    );
    let result = train(&bbt_photos("amy", [1]), &[("label", &"amy")]);
    assert!(
        result.error_text().contains("set the location property"),
        "{}",
        result.error_text()
    );
}

#[test]
fn appending_to_a_corrupt_model_is_refused_and_the_file_kept() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    std::fs::write(&location, b"{\"format\":\"gst-faceid-model\",\"version\":1").unwrap();
    let result = train(
        &bbt_photos("amy", [1]),
        &[("label", &"amy"), ("location", &location.to_str().unwrap())],
    );
    let text = result.error_text();
    assert!(text.contains("append=false"), "{text}");
    assert_eq!(
        std::fs::read(&location).unwrap(),
        b"{\"format\":\"gst-faceid-model\",\"version\":1"
    );
}

#[test]
fn wrong_people_and_duplicates_are_left_out_and_reported() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.faceid");
    let dirty = dir.path().join("dirty.faceid");
    let report = dir.path().join("left-out.json");
    let johns: Vec<_> = ["John_Salley", "John_Simm"]
        .iter()
        .map(|j| {
            let mut files: Vec<_> = std::fs::read_dir(samples().join("johns").join(j))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            files[0].clone()
        })
        .collect();
    for person in ["leonard", "sheldon"] {
        let photos = bbt_photos(person, 1..=5);
        let result = train(
            &photos,
            &[("label", &person), ("location", &clean.to_str().unwrap())],
        );
        assert!(result.error.is_none(), "{}", result.error_text());
        // The same photos with two strangers and a duplicate slipped in.
        let mut photos = photos.clone();
        if person == "sheldon" {
            photos.insert(2, johns[0].clone());
            photos.push(johns[1].clone());
            photos.push(bbt_photos("sheldon", [1])[0].clone());
        }
        let result = train(
            &photos,
            &[
                ("label", &person),
                ("location", &dirty.to_str().unwrap()),
                ("report-location", &report.to_str().unwrap()),
            ],
        );
        assert!(result.error.is_none(), "{}", result.error_text());
        if person == "sheldon" {
            let summary = result.message("faceidtrain").unwrap();
            assert_eq!(summary.get::<u64>("left-out-disagreeing").unwrap(), 2);
            assert_eq!(summary.get::<u64>("left-out-duplicates").unwrap(), 1);
            assert_eq!(summary.get::<u64>("left-out-group-photos").unwrap(), 0);
            let rows: Vec<serde_json::Value> =
                serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
            let sources: Vec<&str> = rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
            // Frames 2 and 6 are the Johns, frame 7 repeats frame 0.
            assert_eq!(sources.len(), 3, "{rows:?}");
            for frame in ["frame 2", "frame 6", "frame 7"] {
                assert!(sources.contains(&frame), "{frame} reported: {rows:?}");
            }
        }
    }
    let clean = Model::load(&clean).unwrap();
    let dirty = Model::load(&dirty).unwrap();
    assert_eq!(dirty.counts(), clean.counts(), "the same photos are used");
    // The same encodings train the same classifier: identical names on a group shot.
    let a = faceid_core::model::Classifier::new(&clean);
    let b = faceid_core::model::Classifier::new(&dirty);
    for s in &clean.samples {
        assert_eq!(
            a.classify(&s.encoding).label(),
            b.classify(&s.encoding).label()
        );
    }
}

/// The clip's model (see `train_clip_model`), loaded.
fn clip_model(path: &std::path::Path, motion_blur_copies: bool) -> Model {
    train_clip_model(path, motion_blur_copies);
    Model::load(path).unwrap()
}

#[test]
fn a_face_smeared_by_a_fast_pan_is_named_thanks_to_motion_blur_copies() {
    use faceid_core::detection::DetectionConfig;
    use faceid_core::frame::FrameRef;
    use faceid_core::geometry::FaceBox;
    use faceid_core::model::Classifier;
    use faceid_dlib::augment::{motion_blur_length, motion_blurred_copy};
    use faceid_dlib::{FacePipeline, Weights, WeightsConfig, resolve_models_dir};

    init();
    let dir = tempfile::tempdir().unwrap();
    let sharp_only = Classifier::new(&clip_model(&dir.path().join("sharp.faceid"), false));
    let with_copies_model = clip_model(&dir.path().join("copies.faceid"), true);
    assert!(
        with_copies_model
            .samples
            .iter()
            .all(|s| s.motion_blurred.is_some()),
        "every photo has its blurred copy"
    );
    let with_copies = Classifier::new(&with_copies_model);
    let weights = Weights::load(&WeightsConfig::new(resolve_models_dir(None))).unwrap();
    let pipeline = FacePipeline::new(weights);
    fn name(c: &Classifier, e: &faceid_core::encoding::Encoding) -> Option<String> {
        c.classify(e).label().map(|l| c.labels()[l].clone())
    }

    // Frame 540 of the sample clip: leonard (held-out photo leonard5) crosses the screen fast,
    // smeared sideways; the ground truth says where.
    let clip = samples().join("clips/bbt_mv_720p.mp4");
    let frame = video_frame(&clip, 540);
    let map = frame.buffer().unwrap().map_readable().unwrap();
    let view = bgrx_view(&frame, map.as_slice());
    let (label, _, [x, y, w, h]) = clip_ground_truth(540)
        .into_iter()
        .find(|(_, track, _)| *track == 20)
        .unwrap();
    assert_eq!(label, "leonard");
    let face = FaceBox {
        x,
        y,
        width: w,
        height: h,
    };
    let encoding = pipeline.encode(&view, &[face], 1).pop().unwrap();
    let sharp = sharp_only.classify(&encoding);
    assert_eq!(
        name(&sharp_only, &encoding),
        None,
        "sharp photos alone leave the smeared face unnamed (distance {})",
        sharp.distance
    );
    assert_eq!(
        name(&with_copies, &encoding).as_deref(),
        Some("leonard"),
        "distance {}",
        with_copies.classify(&encoding).distance
    );

    // Strangers stay strangers: every johns photo, sharp and blurred like the copies.
    let mut checked = 0;
    for person in std::fs::read_dir(samples().join("johns"))
        .unwrap()
        .flatten()
    {
        if person.file_name().to_string_lossy().starts_with('_') || !person.path().is_dir() {
            continue;
        }
        for photo in std::fs::read_dir(person.path()).unwrap().flatten() {
            let sample = decode(&photo.path());
            let map = sample.buffer().unwrap().map_readable().unwrap();
            let view = bgrx_view(&sample, map.as_slice());
            let Some(face) = pipeline
                .detect(&view, &DetectionConfig::default())
                .into_iter()
                .max_by_key(|b| b.width)
            else {
                continue;
            };
            let blurred = motion_blurred_copy(&view, &face, motion_blur_length(&face));
            let blurred_view = FrameRef::new(
                &blurred,
                view.width(),
                view.height(),
                view.stride(),
                view.layout(),
            )
            .unwrap();
            for (how, v) in [("sharp", view), ("blurred", blurred_view)] {
                let e = pipeline.encode(&v, &[face], 1).pop().unwrap();
                assert_eq!(
                    name(&with_copies, &e),
                    None,
                    "{} ({how}) is a stranger, distance {}",
                    photo.path().display(),
                    with_copies.classify(&e).distance
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "{checked} stranger faces checked");
}
