//! The `faceid` command on the sample data: train on photos, annotate a clip with its audio.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use gst::prelude::*;

/// Buffers in the first video and audio streams of an MP4 (one H.264 buffer per frame).
fn count_mp4_streams(path: &Path) -> (u64, u64) {
    count_streams(path, "qtdemux")
}

/// Buffers in the first video and audio streams of a file, split by `demuxer`.
fn count_streams(path: &Path, demuxer: &str) -> (u64, u64) {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! {demuxer} name=d d.video_0 ! queue ! fakesink name=v d.audio_0 ! queue ! fakesink name=a",
        path.display()
    ));
    let count = |name: &str| {
        let n = Arc::new(AtomicU64::new(0));
        let n2 = n.clone();
        pipeline
            .by_name(name)
            .unwrap()
            .static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                n2.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        n
    };
    let (video, audio) = (count("v"), count("a"));
    let result = run(&pipeline);
    assert!(
        result.error.is_none(),
        "{}: {}",
        path.display(),
        result.error_text()
    );
    (video.load(Ordering::Relaxed), audio.load(Ordering::Relaxed))
}

/// How many video, audio and subtitle streams a file has, as a player sees them.
fn stream_kinds(path: &Path) -> (usize, usize, usize) {
    init();
    let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let info = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(10))
        .unwrap()
        .discover_uri(&uri)
        .unwrap();
    (
        info.video_streams().len(),
        info.audio_streams().len(),
        info.subtitle_streams().len(),
    )
}

/// The first subtitle stream of a file, split by `demuxer`: (start, end) in seconds and text of
/// every sample with text.
fn subtitle_samples(path: &Path, demuxer: &str) -> Vec<(f64, f64, String)> {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! {demuxer} name=d d.subtitle_0 ! queue ! appsink name=s sync=false d.video_0 ! queue ! fakesink",
        path.display()
    ));
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = pipeline
        .by_name("s")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let store = samples.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().unwrap();
                let text = String::from_utf8(buffer.map_readable().unwrap().to_vec()).unwrap();
                let start = buffer.pts().unwrap().nseconds() as f64 / 1e9;
                let end = start + buffer.duration().unwrap().nseconds() as f64 / 1e9;
                if !text.is_empty() {
                    store.lock().unwrap().push((start, end, text));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{}", result.error_text());
    std::mem::take(&mut *samples.lock().unwrap())
}

/// Consecutive samples with the same text as one: (start, end, text).
fn merged(samples: &[(f64, f64, String)]) -> Vec<(f64, f64, String)> {
    let mut out: Vec<(f64, f64, String)> = Vec::new();
    for (start, end, text) in samples {
        match out.last_mut() {
            Some(last) if last.2 == *text && (last.1 - start).abs() < 0.001 => last.1 = *end,
            _ => out.push((*start, *end, text.clone())),
        }
    }
    out
}

/// (start, end, text) of every WebVTT cue.
fn vtt_cues(vtt: &str) -> Vec<(f64, f64, String)> {
    vtt.split("\n\n")
        .skip(1)
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut lines = block.lines();
            let mut timing = lines.next().unwrap().split_whitespace();
            let start = vtt_seconds(timing.next().unwrap());
            let end = vtt_seconds(timing.nth(1).unwrap());
            (start, end, lines.collect::<Vec<_>>().join("\n"))
        })
        .collect()
}

/// Seconds of a WebVTT timestamp "HH:MM:SS.mmm".
fn vtt_seconds(t: &str) -> f64 {
    let parts: Vec<&str> = t.split(':').collect();
    assert_eq!(parts.len(), 3, "timestamp {t}");
    let (h, m, s): (f64, f64, f64) = (
        parts[0].parse().unwrap(),
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
    );
    assert!(
        parts[2].len() == 6 && parts[2].as_bytes()[2] == b'.',
        "timestamp {t}"
    );
    h * 3600.0 + m * 60.0 + s
}

/// The file is WebVTT (header, blank-line separated cues, well-formed timings) and names
/// lin_manuel_miranda for most of the time he is on stage, 3-7 s into the clip.
fn check_subtitles(vtt: &str) {
    let mut blocks = vtt.split("\n\n").filter(|b| !b.trim().is_empty());
    assert_eq!(blocks.next().map(str::trim), Some("WEBVTT"), "{vtt}");
    let mut on_stage = 0.0;
    for block in blocks {
        let mut lines = block.lines();
        let timing = lines.next().unwrap();
        let mut fields = timing.split_whitespace();
        let start = vtt_seconds(fields.next().unwrap());
        assert_eq!(fields.next(), Some("-->"), "{timing}");
        let end = vtt_seconds(fields.next().unwrap());
        assert!(start < end, "{timing}");
        assert!(fields.all(|f| f.contains(':')), "cue settings: {timing}");
        let text = lines.collect::<Vec<_>>().join(" ");
        if text == "lin_manuel_miranda" {
            on_stage += (end.min(7.0) - start.max(3.0)).max(0.0);
        }
    }
    assert!(on_stage > 2.0, "named for {on_stage} s of 3-7 s:\n{vtt}");
}

#[test]
fn train_then_annotate_the_sample_clip_keeping_its_audio() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("people.faceid");
    let stdout = train_folder(&samples().join("fr_examples"), &model);
    assert!(stdout.contains("lin_manuel_miranda"), "{stdout}");
    assert!(model.exists());

    let clip = samples().join("fr_examples/_video/short_hamilton_clip.mp4");
    let video = dir.path().join("named.mp4");
    let detections = dir.path().join("named.jsonl");
    let out = faceid_command()
        .arg("annotate")
        .arg(&clip)
        .arg("-m")
        .arg(&model)
        .arg("-o")
        .arg(&video)
        .arg("--detections")
        .arg(&detections)
        .arg("--subtitles")
        .arg(dir.path().join("named.vtt"))
        .arg("--embed-subtitles")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Who appeared and for how long.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("lin_manuel_miranda")),
        "{stdout}"
    );
    let vtt = std::fs::read_to_string(dir.path().join("named.vtt")).unwrap();
    check_subtitles(&vtt);
    // Not a terminal: progress comes as plain lines.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("annotate:") && l.contains("frames")),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'));

    let (input_frames, input_audio) = count_mp4_streams(&clip);
    let (output_frames, output_audio) = count_mp4_streams(&video);
    assert_eq!(output_frames, input_frames, "every frame is kept");
    assert_eq!(output_audio, input_audio, "the audio is copied untouched");
    assert!(output_audio > 0);

    // --embed-subtitles: the MP4 also has a subtitle track, timed like the WebVTT file (cut into
    // pieces at most 5 s long), naming him.
    assert_eq!(stream_kinds(&video), (1, 1, 1));
    let track = subtitle_samples(&video, "qtdemux");
    assert!(
        track.iter().any(|(_, _, t)| t == "lin_manuel_miranda"),
        "{track:?}"
    );
    let cues = vtt_cues(&vtt);
    let embedded = merged(&track);
    assert_eq!(embedded.len(), cues.len(), "{embedded:?}\n{vtt}");
    for ((s1, e1, t1), (s2, e2, t2)) in embedded.iter().zip(&cues) {
        assert_eq!(t1, t2);
        assert!(
            (s1 - s2).abs() < 0.002 && (e1 - e2).abs() < 0.002,
            "{embedded:?}\n{vtt}"
        );
    }

    // The same into Matroska (no subtitle file asked): video, the audio copied, the same track.
    let mkv = dir.path().join("named.mkv");
    let out = faceid_command()
        .arg("annotate")
        .arg(&clip)
        .arg("-m")
        .arg(&model)
        .arg("-o")
        .arg(&mkv)
        .arg("--embed-subtitles")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stream_kinds(&mkv), (1, 1, 1));
    assert_eq!(
        count_streams(&mkv, "matroskademux"),
        (input_frames, input_audio)
    );
    assert_eq!(merged(&subtitle_samples(&mkv, "matroskademux")), embedded);

    // The same as WebM: VP8 video, the AAC audio re-encoded to Opus (WebM cannot hold AAC).
    let webm = dir.path().join("named.webm");
    let out = faceid_command()
        .arg("annotate")
        .arg(&clip)
        .arg("-m")
        .arg(&model)
        .arg("-o")
        .arg(&webm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (webm_video, webm_audio) = count_streams(&webm, "matroskademux");
    assert_eq!(webm_video, input_frames);
    assert!(webm_audio > 0);
    // WebM has no subtitle track: asking for one is an error that says what to use instead,
    // before any work, and leaves no file.
    let no_webm = dir.path().join("subtitled.webm");
    let out = faceid_command()
        .arg("annotate")
        .arg(&clip)
        .arg("-m")
        .arg(&model)
        .arg("-o")
        .arg(&no_webm)
        .arg("--embed-subtitles")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WebM") && stderr.contains(".mkv"),
        "{stderr}"
    );
    assert!(!no_webm.exists());

    // Lin-Manuel Miranda is on stage from about 3 s to 6.7 s (frames 90-200).
    let lines = common::face_lines(&detections);
    // Every frame has its line, numbered from 0.
    assert!(
        lines.keys().copied().eq(0..input_frames),
        "{:?}",
        lines.keys()
    );
    let named = |frame: u64| {
        lines[&frame]
            .iter()
            .any(|f| f.name() == Some("lin_manuel_miranda"))
    };
    let on_stage = (90..200).filter(|&i| named(i)).count();
    assert!(on_stage >= 88, "named on {on_stage} of 110 frames on stage");
}

#[test]
fn annotate_refuses_to_overwrite_its_input_and_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::copy(samples().join("bbt/_video/video.mp4"), &clip).unwrap();
    let out = faceid_command()
        .args(["annotate"])
        .arg(&clip)
        .arg("-m")
        .arg(dir.path().join("none.faceid"))
        .arg("-o")
        .arg(&clip)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overwrite the input"));

    // A bad --set is an error message, not a crash.
    for bad in [
        "threshold=abc",
        "threshold=7",
        "no-such-property=1",
        "threshold",
    ] {
        let out = faceid_command()
            .args(["annotate"])
            .arg(&clip)
            .arg("-m")
            .arg(dir.path().join("none.faceid"))
            .arg("-o")
            .arg(dir.path().join("x.mp4"))
            .args(["--set", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--set") || stderr.contains("has no property"),
            "{bad}: {stderr}"
        );
    }

    // A missing model fails with its name, and no output file appears. (The colour, in
    // textoverlay's hexadecimal form, is accepted: the error is about the model.)
    let output = dir.path().join("out.mp4");
    let out = faceid_command()
        .args(["annotate"])
        .arg(&clip)
        .arg("-m")
        .arg(dir.path().join("none.faceid"))
        .arg("-o")
        .arg(&output)
        .args(["--set", "known-color=0xff00ffff"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("none.faceid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn train_reports_photos_left_out_and_refuses_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("penny")).unwrap();
    for p in bbt_photos("penny", 1..=2) {
        std::fs::copy(&p, photos.join("penny").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        samples().join("bbt/_group/bbt3.jpg"),
        photos.join("penny/group.jpg"),
    )
    .unwrap();
    std::fs::copy(
        samples().join("fr_examples/_group/two_people.jpg"),
        photos.join("penny/strangers.jpg"),
    )
    .unwrap();
    std::fs::write(photos.join("penny/notes.txt"), "not a photo").unwrap();
    let model = dir.path().join("m.faceid");
    let out = train_command(&photos, &model).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // The group shot gives penny's face (the one like her other photos); a photo of two
    // strangers gives none.
    assert!(!stdout.contains("group.jpg: left out"), "{stdout}");
    assert!(
        stdout.contains("strangers.jpg: left out: a photo of 2 faces, none like penny's"),
        "{stdout}"
    );
    assert!(stdout.contains("notes.txt: not an image"), "{stdout}");
    let trained = faceid_core::model::Model::load(&model).unwrap();
    let from_group = trained
        .samples
        .iter()
        .find(|s| s.source == "penny/group.jpg")
        .expect("the group photo is used");
    let everyone =
        faceid_core::model::Classifier::new(&faceid_core::model::Model::load(bbt_model()).unwrap());
    let p = everyone.classify(&from_group.encoding);
    assert_eq!(everyone.labels()[p.best], "penny", "{p:?}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = train_command(&empty, &model).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no person folders"));
    assert!(model.exists(), "the earlier model is kept");
}

/// Writes `photo` as a phone would: the pixels turned a quarter to the left and EXIF orientation
/// 6 ("rotate 90° clockwise to view"), which viewers apply.
fn write_phone_photo(photo: &Path, out: &Path) {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! videoflip video-direction=90l ! videoconvert ! jpegenc ! taginject tags=\"image-orientation=rotate-90\" ! jifmux ! filesink location=\"{}\"",
        photo.display(),
        out.display()
    ));
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{}", result.error_text());
}

#[test]
fn phone_photos_train_upright_and_the_model_names_photos_without_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    // An absolute path with a user name in it, as a fan's home folder would be.
    let photos = dir.path().join("home-of-mina").join("photos");
    for person in ["joe_biden", "barack_obama"] {
        std::fs::create_dir_all(photos.join(person)).unwrap();
    }
    let obama = samples().join("fr_examples/barack_obama/obama.jpg");
    let phone = photos.join("barack_obama/IMG_0001.jpg");
    write_phone_photo(&obama, &phone);
    for p in ["biden.jpg", "biden2.jpg"] {
        std::fs::copy(
            samples().join("fr_examples/joe_biden").join(p),
            photos.join("joe_biden").join(p),
        )
        .unwrap();
    }
    // The photo really is stored sideways: read without its orientation, no face is found.
    let scratch = dir.path().join("sideways.faceid");
    let sideways = train(
        std::slice::from_ref(&phone),
        &[
            ("label", &"barack_obama"),
            ("location", &scratch.to_str().unwrap()),
        ],
    );
    let message = sideways
        .message("faceidtrain-frame")
        .expect("a photo message");
    assert_eq!(message.get::<u32>("faces").unwrap(), 0, "{message:?}");

    let model = dir.path().join("people.faceid");
    let stdout = train_folder(&photos, &model);
    assert!(!stdout.contains("IMG_0001.jpg: left out"), "{stdout}");
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(
        text.contains("\"source\":\"barack_obama/IMG_0001.jpg\""),
        "the photo is named inside the training folder"
    );
    let folder = photos.to_string_lossy();
    assert!(!text.contains(folder.as_ref()), "no absolute path");
    assert!(!text.contains("home-of-mina"), "no user name");
    assert!(!text.contains(&*dir.path().to_string_lossy()));
}

#[test]
fn eval_reports_accuracy_strangers_and_confusion_on_held_out_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (train_dir, eval_dir) = (dir.path().join("train"), dir.path().join("eval"));
    for person in BBT {
        for (folder, numbers) in [(&train_dir, 1..=3), (&eval_dir, 4..=5)] {
            std::fs::create_dir_all(folder.join(person)).unwrap();
            for p in bbt_photos(person, numbers) {
                std::fs::copy(&p, folder.join(person).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    // Strangers to a bbt model: the Johns and two fr_examples people.
    std::fs::create_dir_all(eval_dir.join("unknown")).unwrap();
    for john in std::fs::read_dir(samples().join("johns"))
        .unwrap()
        .flatten()
    {
        if john.file_name().to_string_lossy().starts_with("John") {
            let mut photos: Vec<_> = std::fs::read_dir(john.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            photos.sort();
            for p in photos.iter().take(2) {
                std::fs::copy(p, eval_dir.join("unknown").join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    for p in [
        "fr_examples/barack_obama/obama.jpg",
        "fr_examples/joe_biden/biden.jpg",
    ] {
        let p = samples().join(p);
        std::fs::copy(&p, eval_dir.join("unknown").join(p.file_name().unwrap())).unwrap();
    }
    let model = dir.path().join("bbt.faceid");
    train_folder(&train_dir, &model);
    let out = faceid_command()
        .arg("eval")
        .arg(&eval_dir)
        .arg("-m")
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("top-1 accuracy: 100.0%"), "{stdout}");
    assert!(stdout.contains("strangers named: 0 of 12"), "{stdout}");
    assert!(stdout.contains("true \\ given"), "{stdout}");
}

#[test]
fn leave_one_out_on_the_johns_names_every_photo_right() {
    // Five different men all named John, 11 photos each: every kept photo, named by a model
    // trained on the other photos, must get its own John.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("johns.faceid");
    train_folder(&samples().join("johns"), &model);
    let out = faceid_command()
        .args(["eval", "--leave-one-out", "-m"])
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("top-1 accuracy: 100.0%"), "{stdout}");
    // Every John is a row of the confusion table, with at least 9 photos kept.
    for john in [
        "John_Salley",
        "John_Savage",
        "John_Schneider",
        "John_Shimkus",
        "John_Simm",
    ] {
        let row = stdout.lines().find(|l| l.starts_with(john)).expect(john);
        let counts: Vec<u32> = row
            .split_whitespace()
            .skip(1)
            .map(|c| c.parse().unwrap())
            .collect();
        assert!(counts.iter().max().unwrap() >= &9, "{row}");
        assert_eq!(counts.iter().filter(|c| **c > 0).count(), 1, "{row}");
    }
}

#[test]
fn train_on_a_folder_of_non_images_fails_and_keeps_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    for person in ["amy", "raj"] {
        std::fs::create_dir_all(photos.join(person)).unwrap();
    }
    std::fs::write(photos.join("amy/notes.txt"), "not a photo").unwrap();
    // Text under an image name, and a JPEG cut off after its header.
    std::fs::copy(checkout().join("README.md"), photos.join("amy/readme.png")).unwrap();
    let jpeg = std::fs::read(samples().join("bbt/_group/bbt2.jpg")).unwrap();
    std::fs::write(photos.join("raj/cut.jpg"), &jpeg[..600]).unwrap();
    let model = dir.path().join("m.faceid");
    std::fs::write(&model, b"the previous model").unwrap();
    let out = train_command(&photos, &model).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    for file in ["notes.txt", "readme.png", "cut.jpg"] {
        assert!(
            stdout.contains(&format!("{file}: not an image")),
            "{file}: {stdout}"
        );
    }
    assert!(stderr.contains("no person could be trained"), "{stderr}");
    assert_eq!(std::fs::read(&model).unwrap(), b"the previous model");
}

/// `faceid eval` of MODEL on the sample clip against its ground truth: the score line.
fn clip_scores(model: &Path) -> serde_json::Value {
    let out = faceid_command()
        .arg("eval")
        .arg("-m")
        .arg(model)
        .arg("--ground-truth")
        .arg(samples().join("clips/bbt_mv_720p.gt.jsonl"))
        .arg(samples().join("clips/bbt_mv_720p.mp4"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The score line, then the confusion table.
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    assert!(
        stdout.contains("by the name they were given"),
        "a confusion table: {stdout}"
    );
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn the_sample_clip_gets_trustworthy_names_and_a_member_left_out_is_not_named_as_another() {
    // The clip's cast appear only in photos not used for training, small, soft and smeared by
    // fast pans, with the five Johns as extras who must stay unknown.
    let dir = tempfile::tempdir().unwrap();
    let train = samples().join("clips/bbt_mv_720p-train");
    let full = dir.path().join("full.faceid");
    train_folder(&train, &full);
    let s = clip_scores(&full);
    let (named_ok, wrong, flicker) = (
        s["named_ok"].as_f64().unwrap(),
        s["wrong_name"].as_f64().unwrap(),
        s["flicker_per_100"].as_f64().unwrap(),
    );
    assert!(named_ok >= 0.95, "named_ok {named_ok}: {s}");
    assert!(wrong <= 0.01, "wrong_name {wrong}: {s}");
    assert!(flicker <= 0.5, "flicker {flicker}: {s}");

    // Without penny in the model, none of her 138 faces may be called one of the others. Her
    // small, soft faces lie 0.57 from bernadette's blurred copies, inside the unknown distance
    // of sharp photos: the calibrated blur penalty is what keeps them unnamed (without it,
    // wrong_name is 0.056 here).
    let without = dir.path().join("without-penny");
    for person in BBT.iter().filter(|p| **p != "penny") {
        std::fs::create_dir_all(without.join(person)).unwrap();
        for photo in std::fs::read_dir(train.join(person)).unwrap().flatten() {
            std::fs::copy(photo.path(), without.join(person).join(photo.file_name())).unwrap();
        }
    }
    let partial = dir.path().join("partial.faceid");
    train_folder(&without, &partial);
    let s = clip_scores(&partial);
    let wrong = s["wrong_name"].as_f64().unwrap();
    assert!(wrong <= 0.01, "wrong_name {wrong} without penny: {s}");
    assert!(
        s["named_ok"].as_f64().unwrap() > 0.75,
        "the others are still named: {s}"
    );
}

#[test]
fn a_version_3_dlib_model_names_the_sample_clip_as_before() {
    // tests/data/bbt_clip_dlib_v3.faceid was written by gst-faceid before format 4 (commit
    // c506d9a, `faceid train samples/clips/bbt_mv_720p-train`): it names no encoder, so it is
    // dlib's, and it names the clip as it did then (named_ok 0.9947, no wrong name).
    let v3 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bbt_clip_dlib_v3.faceid");
    let text = std::fs::read_to_string(&v3).unwrap();
    assert!(text.contains("\"version\":3") && !text.contains("\"name\""));
    let s = clip_scores(&v3);
    assert!(s["named_ok"].as_f64().unwrap() >= 0.99, "{s}");
    assert_eq!(s["wrong_name"].as_f64().unwrap(), 0.0, "{s}");
}

#[test]
fn training_with_sface_missing_says_what_to_install_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.faceid");
    let err = faceid_fails(
        faceid_command()
            .env("FACEID_ONNX_DIR", dir.path().join("no-onnx-here"))
            .arg("train")
            .arg(samples().join("clips/bbt_mv_720p-train"))
            .arg("-o")
            .arg(&model)
            .args(["--encoder", "sface"]),
    );
    assert!(err.contains("fetch-onnx.sh"), "{err}");
    assert!(err.contains("--encoder dlib"), "{err}");
    assert!(!model.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial file left"
    );
    let err = faceid_fails(
        faceid_command()
            .arg("train")
            .arg(samples().join("clips/bbt_mv_720p-train"))
            .arg("-o")
            .arg(&model)
            .args(["--encoder", "arcface"]),
    );
    assert!(err.contains("sface, dlib"), "{err}");
}

#[test]
fn an_sface_model_without_sface_installed_is_a_clear_error_of_annotate() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.faceid");
    faceid_succeeds(
        faceid_command()
            .arg("train")
            .arg(samples().join("clips/bbt_mv_720p-train"))
            .arg("-o")
            .arg(&model)
            .args(["--encoder", "sface"]),
    );
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(text.contains("\"name\":\"sface\""), "{text:.300}");
    let out = dir.path().join("out.mp4");
    let err = faceid_fails(
        faceid_command()
            .env("FACEID_ONNX_DIR", dir.path().join("no-onnx-here"))
            .arg("annotate")
            .arg(samples().join("fr_examples/_video/short_hamilton_clip.mp4"))
            .arg("-m")
            .arg(&model)
            .arg("-o")
            .arg(&out),
    );
    assert!(err.contains("needs the sface encoder"), "{err}");
    assert!(err.contains("fetch-onnx.sh"), "{err}");
    assert!(!out.exists());
    // A model of an encoder this build does not have names it and what to do.
    let future = dir.path().join("future.faceid");
    std::fs::write(
        &future,
        text.replace("\"name\":\"sface\"", "\"name\":\"arcface-r100\""),
    )
    .unwrap();
    let err = faceid_fails(
        faceid_command()
            .arg("annotate")
            .arg(samples().join("fr_examples/_video/short_hamilton_clip.mp4"))
            .arg("-m")
            .arg(&future)
            .arg("--no-video"),
    );
    assert!(
        err.contains("arcface-r100") && err.contains("upgrade"),
        "{err}"
    );
}

#[test]
fn strangers_given_at_training_stay_unknown_and_only_their_encodings_are_kept() {
    // The clip's extras are the five Johns: given as --strangers, none of their faces may be
    // named, and the model keeps their encodings, not their photos' names or paths.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.faceid");
    let out = faceid_succeeds(
        faceid_command()
            .arg("train")
            .arg(samples().join("clips/bbt_mv_720p-train"))
            .arg("-o")
            .arg(&model)
            .arg("--strangers")
            .arg(samples().join("johns")),
    );
    assert!(out.contains("faces of strangers kept out"), "{out}");
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(
        !text.contains("John") && !text.contains("johns"),
        "no name or path"
    );
    let m = faceid_core::model::Model::load(&model).unwrap();
    assert!(m.strangers.len() >= 50, "{}", m.strangers.len());
    let s = clip_scores(&model);
    assert_eq!(s["wrong_name"].as_f64().unwrap(), 0.0, "{s}");
    // Appending a person keeps them.
    let more = dir.path().join("more");
    std::fs::create_dir_all(more.join("penny")).unwrap();
    for photo in std::fs::read_dir(samples().join("clips/bbt_mv_720p-train/penny")).unwrap() {
        let photo = photo.unwrap().path();
        std::fs::copy(&photo, more.join("penny").join(photo.file_name().unwrap())).unwrap();
    }
    faceid_succeeds(
        faceid_command()
            .arg("train")
            .arg(&more)
            .arg("-o")
            .arg(&model)
            .arg("--append"),
    );
    let again = faceid_core::model::Model::load(&model).unwrap();
    assert_eq!(again.strangers.len(), m.strangers.len());
}

/// Ctrl-C during `faceid annotate` (tried as a new user would): the first ends the video
/// where it is, as if the input ended, and the output is a playable, shorter file under its
/// own name (ffmpeg's `q`); nothing is left under the temporary name.
#[test]
fn ctrl_c_during_annotate_finishes_a_shorter_playable_video() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("named.mp4");
    let child = faceid_command()
        .arg("annotate")
        .arg(samples().join("clips/bbt_mv_720p.mp4"))
        .arg("-m")
        .arg(bbt_model())
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.path().join(".named.mp4.partial");
    let started = std::time::Instant::now();
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(
            started.elapsed().as_secs() < 120,
            "no output is being written"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: sends SIGINT to the child we spawned, which is still running (it was writing).
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("Ctrl-C: finishing here"), "{stderr}");
    assert!(stdout.contains("stopped by Ctrl-C after"), "{stdout}");
    assert!(!partial.exists(), "the temporary file is left behind");
    let frames = count_frames(&out);
    assert!(frames > 0 && frames < 600, "{frames} frames in the output");
}

/// The frames a video file decodes to, to its end.
fn count_frames(path: &Path) -> usize {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    while sink
        .try_pull_sample(gst::ClockTime::from_seconds(30))
        .is_some()
    {
        frames += 1;
    }
    assert!(sink.is_eos(), "{} decodes to its end", path.display());
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}
