//! Bad input, each with a clear error or warning and no crash: odd frame sizes and strides,
//! huge frames, crowds, caps changes, models swapped while playing, read-only outputs, panics.

mod common;

use common::*;
use gst::prelude::*;

fn overlay_harness(extra: &[(&str, &dyn ToValue)]) -> gst_check::Harness {
    init();
    let element = synchronous_overlay()
        .property("model", bbt_model())
        .build()
        .unwrap();
    for (name, value) in extra {
        element.set_property(name, value.to_value());
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.play();
    h
}

fn black_frame(info: &gst_video::VideoInfo) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    buffer.get_mut().unwrap().map_writable().unwrap().fill(0);
    buffer
}

#[test]
fn tiny_odd_and_huge_frames_pass_through() {
    let mut h = overlay_harness(&[]);
    // 1x1, odd widths (stride padding), and an 8K frame.
    for (w, h_) in [(1, 1), (3, 7), (641, 361), (7680, 4320)] {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgrx, w, h_)
            .fps(gst::Fraction::new(30, 1))
            .build()
            .unwrap();
        h.set_src_caps(info.to_caps().unwrap());
        let out = h.push_and_pull(black_frame(&info)).expect("one buffer out");
        assert_eq!(out.size(), info.size(), "{w}x{h_}");
        assert_eq!(roi_faces(&out).len(), 0);
    }
}

#[test]
fn caps_changing_size_mid_stream_keeps_naming() {
    let mut h = overlay_harness(&[]);
    for photo in ["bbt2.jpg", "bbt3.jpg", "bbt2.jpg"] {
        let sample = decode(&samples().join("bbt/_group").join(photo));
        h.set_src_caps(sample.caps().unwrap().to_owned());
        let out = h.push_and_pull(sample.buffer().unwrap().copy()).unwrap();
        let names: Vec<_> = roi_faces(&out).into_iter().filter_map(|f| f.4).collect();
        assert!(names.contains(&"sheldon".to_string()), "{photo}: {names:?}");
    }
}

#[test]
fn a_crowd_of_faces_is_handled() {
    // bald_guys.jpg: a collage of about 24 strangers, none of them in the bbt model.
    let sample = decode(&samples().join("johns/_other/bald_guys.jpg"));
    let mut h = overlay_harness(&[]);
    h.set_src_caps(sample.caps().unwrap().to_owned());
    let out = h.push_and_pull(sample.buffer().unwrap().copy()).unwrap();
    let faces = roi_faces(&out);
    assert!(faces.len() >= 15, "found {}", faces.len());
    assert!(
        faces.iter().all(|f| f.4.is_none()),
        "strangers named: {faces:?}"
    );
}

#[test]
fn the_model_can_be_swapped_while_playing() {
    let dir = tempfile::tempdir().unwrap();
    let penny_only = dir.path().join("penny.faceid");
    let result = train(
        &bbt_photos("penny", 1..=5),
        &[
            ("label", &"penny"),
            ("location", &penny_only.to_str().unwrap()),
        ],
    );
    assert!(result.error.is_none(), "{}", result.error_text());
    let sample = decode(&samples().join("bbt/_group/bbt3.jpg"));
    let mut h = overlay_harness(&[("tracking", &false)]);
    h.set_src_caps(sample.caps().unwrap().to_owned());
    let names = |h: &mut gst_check::Harness| -> Vec<String> {
        let out = h.push_and_pull(sample.buffer().unwrap().copy()).unwrap();
        roi_faces(&out).into_iter().filter_map(|f| f.4).collect()
    };
    assert_eq!(names(&mut h).len(), 5);
    // The new model is read on a thread of its own, not in the streaming thread: frames keep
    // the old names until it is ready, then switch.
    h.element().unwrap().set_property("model", &penny_only);
    let started = std::time::Instant::now();
    let mut seen = names(&mut h);
    while seen != ["penny"] && started.elapsed() < std::time::Duration::from_secs(20) {
        assert_eq!(seen.len(), 5, "old model until the switch: {seen:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        seen = names(&mut h);
    }
    assert_eq!(seen, ["penny"]);
    // A broken model while playing: a warning, and the last good model stays.
    let broken = dir.path().join("broken.faceid");
    std::fs::write(&broken, b"{}").unwrap();
    h.element().unwrap().set_property("model", &broken);
    for _ in 0..10 {
        assert_eq!(names(&mut h), ["penny"]);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_failed_write_keeps_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let loc = location.to_str().unwrap();
    let result = train(
        &bbt_photos("amy", 1..=2),
        &[("label", &"amy"), ("location", &loc)],
    );
    assert!(result.error.is_none());
    let before = std::fs::read(&location).unwrap();
    // Make the write fail even for root (read-only folders do not stop root): a folder sits
    // where the temporary file would be created.
    let blocker = dir
        .path()
        .join(format!(".m.faceid.{}.tmp", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let result = train(
        &bbt_photos("raj", 1..=2),
        &[("label", &"raj"), ("location", &loc)],
    );
    let text = result.error_text();
    assert!(text.contains("Could not write the model"), "{text}");
    assert!(text.contains("unchanged"), "{text}");
    assert_eq!(
        std::fs::read(&location).unwrap(),
        before,
        "the old model is intact"
    );
}

#[test]
fn a_directory_as_output_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let result = train(
        &bbt_photos("amy", 1..=1),
        &[
            ("label", &"amy"),
            ("location", &dir.path().to_str().unwrap()),
        ],
    );
    let text = result.error_text();
    assert!(!text.is_empty(), "writing a model over a folder must fail");
}

/// A models-dir whose weight files are there but are not dlib's.
fn weights_that_are_not_dlibs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        faceid_dlib::weights::LANDMARKS_FILE,
        faceid_dlib::weights::ENCODER_FILE,
    ] {
        std::fs::write(dir.path().join(f), b"this is not a dlib model").unwrap();
    }
    dir
}

#[test]
fn weights_that_are_not_dlibs_are_refused() {
    init();
    let dir = weights_that_are_not_dlibs();
    let pipeline = launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=BGRx ! faceidoverlay model=\"{}\" models-dir=\"{}\" ! fakesink",
        bbt_model().display(),
        dir.path().display()
    ));
    let result = run(&pipeline);
    let text = result.error_text();
    assert!(text.contains("not a usable dlib model file"), "{text}");
}

#[test]
fn unusable_weights_are_an_error_in_a_live_stream_too() {
    // Live, the weights are read on a thread while the first frames pass through: starting
    // succeeds, and the weights' error still reaches the bus, with what to do.
    init();
    let dir = weights_that_are_not_dlibs();
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let (pipeline, src, sink) = obs_filter_pipeline(
        &info,
        &format!(
            "faceidoverlay model=\"{}\" models-dir=\"{}\"",
            bbt_model().display(),
            dir.path().display()
        ),
    );
    pipeline
        .set_state(gst::State::Playing)
        .expect("the weights' files are there, so the element starts");
    for i in 0..300u64 {
        let mut buffer = photo.buffer().unwrap().copy();
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i * 33));
        if src.push_buffer(buffer).is_err()
            || sink
                .try_pull_sample(gst::ClockTime::from_seconds(5))
                .is_none()
        {
            break;
        }
    }
    let error = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Error])
        .expect("an error on the bus");
    let gst::MessageView::Error(error) = error.view() else {
        unreachable!()
    };
    let text = error.error().to_string();
    assert!(text.contains("not a usable dlib model file"), "{text}");
    assert!(text.contains("fetch-weights.sh"), "{text}");
    pipeline.set_state(gst::State::Null).unwrap();
}

/// The pipeline obs-gstreamer's filter builds around the user's `filter` ("faceidoverlay
/// ..."), for frames like `info`: appsrc with framerate 0/1, push one frame, pull it, repeat.
fn obs_filter_pipeline(
    info: &gst_video::VideoInfo,
    filter: &str,
) -> (gst::Pipeline, gst_app::AppSrc, gst_app::AppSink) {
    let pipeline = launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=BGRx,width={w},height={h},framerate=0/1 ! videoconvert ! {filter} ! videoconvert ! video/x-raw,format=BGRx,width={w},height={h},framerate=0/1 ! appsink name=sink sync=false",
        w = info.width(),
        h = info.height(),
    ));
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    (pipeline, src, sink)
}

/// Pushes a copy of `photo` as frame `i` (33 ms apart) and pulls what comes out.
fn push_and_pull(
    src: &gst_app::AppSrc,
    sink: &gst_app::AppSink,
    photo: &gst::Sample,
    i: u64,
) -> gst::Sample {
    let mut buffer = photo.buffer().unwrap().copy();
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(i * 33));
    src.push_buffer(buffer).unwrap();
    sink.try_pull_sample(gst::ClockTime::from_seconds(30))
        .expect("the frame comes back before the next is pushed")
}

#[test]
fn one_frame_in_one_frame_out_like_obs() {
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let (pipeline, src, sink) = obs_filter_pipeline(
        &info,
        &format!("faceidoverlay model=\"{}\"", bbt_model().display()),
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    for i in 0..5u64 {
        let out = push_and_pull(&src, &sink, &photo, i);
        assert_eq!(
            out.buffer().unwrap().pts(),
            Some(gst::ClockTime::from_mseconds(i * 33))
        );
    }
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn frames_pushed_like_obs_are_analysed_live_and_named_without_holding_a_frame_back() {
    // OBS's filter caps (framerate=0/1) choose the live mode by themselves: the full-frame
    // detection runs on a worker, so the first frames come back unnamed at once and the names
    // follow a few frames later, on the same faces the synchronous mode names.
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    // `wanted`: push frames until these names are shown (or, without, until any name is).
    let run = |budget: i32, wanted: Option<&Vec<String>>| {
        let (pipeline, src, sink) = obs_filter_pipeline(
            &info,
            &format!(
                "faceidoverlay name=o latency-budget={budget} model=\"{}\"",
                bbt_model().display()
            ),
        );
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut names = Vec::new();
        let mut first_named = None;
        for i in 0..400u64 {
            let out = push_and_pull(&src, &sink, &photo, i);
            names = known_names(out.buffer().unwrap());
            if !names.is_empty() {
                first_named.get_or_insert(i);
            }
            if wanted.map_or(!names.is_empty(), |w| names == *w) {
                break;
            }
            // Frames come at about OBS's pace.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let live: bool = pipeline.by_name("o").unwrap().property("live");
        pipeline.set_state(gst::State::Null).unwrap();
        (live, first_named, names)
    };
    let (sync, sync_first, sync_names) = run(0, None);
    assert!(!sync);
    assert_eq!(
        sync_first,
        Some(0),
        "the synchronous mode names them on the first frame"
    );
    assert!(!sync_names.is_empty());
    let (live, first, live_names) = run(-1, Some(&sync_names));
    assert!(live, "framerate=0/1 chooses the live mode");
    let first = first.expect("the live mode names the faces");
    assert!(
        first > 0,
        "the first frame is not held back for the detection"
    );
    assert_eq!(live_names, sync_names, "the same names, a few frames later");
}

/// Known names in a buffer's metas, left to right.
fn known_names(buffer: &gst::BufferRef) -> Vec<String> {
    let mut faces: Vec<_> = roi_faces(buffer)
        .into_iter()
        .filter_map(|f| f.4.map(|n| (f.0, n)))
        .collect();
    faces.sort();
    faces.into_iter().map(|f| f.1).collect()
}

#[test]
fn rows_padded_by_a_video_meta_stride_are_read_and_drawn_right() {
    // An odd width (675) and rows padded to a stride given only by the buffer's VideoMeta, as
    // hardware decoders do: the faces are still found and named, the padding is not touched.
    let sample = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let (w, h_) = (info.width() as usize, info.height() as usize);
    assert_eq!(w % 2, 1, "an odd width");
    let stride = w * 4 + 52;
    let mut buffer = gst::Buffer::with_size(stride * h_).unwrap();
    {
        let b = buffer.get_mut().unwrap();
        let src = sample.buffer().unwrap().map_readable().unwrap();
        let mut map = b.map_writable().unwrap();
        map.fill(0xAB);
        let src_stride = info.stride()[0] as usize;
        for y in 0..h_ {
            map[y * stride..y * stride + w * 4]
                .copy_from_slice(&src[y * src_stride..y * src_stride + w * 4]);
        }
    }
    gst_video::VideoMeta::add_full(
        buffer.get_mut().unwrap(),
        gst_video::VideoFrameFlags::empty(),
        gst_video::VideoFormat::Bgrx,
        w as u32,
        h_ as u32,
        &[0],
        &[stride as i32],
    )
    .unwrap();
    let mut h = overlay_harness(&[]);
    h.set_src_caps(sample.caps().unwrap().to_owned());
    let out = h.push_and_pull(buffer).unwrap();
    assert_eq!(known_names(&out), ["leonard", "sheldon"]);
    let map = out.map_readable().unwrap();
    for y in 0..h_ {
        assert!(
            map[y * stride + w * 4..(y + 1) * stride]
                .iter()
                .all(|&b| b == 0xAB),
            "padding of row {y} untouched"
        );
    }
}

#[test]
fn fifty_faces_in_one_frame() {
    // bald_guys.jpg (about 24 strangers) tiled twice side by side: ~50 faces in one frame.
    let sample = decode(&samples().join("johns/_other/bald_guys.jpg"));
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let tiled = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::Bgrx,
        info.width() * 2,
        info.height(),
    )
    .fps(gst::Fraction::new(30, 1))
    .build()
    .unwrap();
    let mut buffer = gst::Buffer::with_size(tiled.size()).unwrap();
    {
        let src = sample.buffer().unwrap().map_readable().unwrap();
        let b = buffer.get_mut().unwrap();
        let mut map = b.map_writable().unwrap();
        let (row, src_stride, dst_stride) = (
            info.width() as usize * 4,
            info.stride()[0] as usize,
            tiled.stride()[0] as usize,
        );
        for y in 0..info.height() as usize {
            let line = &src[y * src_stride..y * src_stride + row];
            map[y * dst_stride..y * dst_stride + row].copy_from_slice(line);
            map[y * dst_stride + row..y * dst_stride + 2 * row].copy_from_slice(line);
        }
    }
    let mut h = overlay_harness(&[]);
    h.set_src_caps(tiled.to_caps().unwrap());
    let out = h.push_and_pull(buffer).unwrap();
    let faces = roi_faces(&out);
    assert!(faces.len() >= 40, "found {}", faces.len());
    assert!(
        faces.iter().all(|f| f.4.is_none()),
        "strangers named: {faces:?}"
    );
}

#[test]
fn a_buffer_smaller_than_its_caps_is_an_error_naming_the_sizes() {
    let mut h = overlay_harness(&[]);
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgrx, 320, 240)
        .fps(gst::Fraction::new(30, 1))
        .build()
        .unwrap();
    h.set_src_caps(info.to_caps().unwrap());
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    for size in [0, 1000] {
        assert!(h.push(gst::Buffer::with_size(size).unwrap()).is_err());
        let msg = bus
            .pop_filtered(&[gst::MessageType::Error])
            .expect("an error message");
        let gst::MessageView::Error(e) = msg.view() else {
            unreachable!()
        };
        let text = e.error().to_string();
        assert!(text.contains(&format!("{size} bytes")), "{text}");
        assert!(text.contains("320x240"), "{text}");
    }
}

#[test]
fn eos_without_buffers_is_a_plain_eos() {
    // faceidtrain: see train.rs (an error, and the old model kept).
    init();
    let pipeline = launch(&format!(
        "videotestsrc num-buffers=0 ! video/x-raw,format=BGRx ! faceidoverlay model=\"{}\" ! fakesink",
        bbt_model().display()
    ));
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{}", result.error_text());
    assert!(result.message("faceid").is_none(), "no frame, no message");
}

#[test]
fn a_read_only_location_is_an_error_and_keeps_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("m.faceid");
    let loc = location.to_str().unwrap();
    let result = train(
        &bbt_photos("amy", 1..=2),
        &[("label", &"amy"), ("location", &loc)],
    );
    assert!(result.error.is_none(), "{}", result.error_text());
    let before = std::fs::read(&location).unwrap();
    // A read-only folder: the temporary file cannot be created next to the model. Root ignores
    // the permission bits, so the test checks that the folder really refuses a file first.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(dir.path().join("probe"), b"").is_ok();
    if !writable {
        let result = train(
            &bbt_photos("raj", 1..=2),
            &[("label", &"raj"), ("location", &loc)],
        );
        let text = result.error_text();
        assert!(text.contains("Could not write the model"), "{text}");
        assert_eq!(
            std::fs::read(&location).unwrap(),
            before,
            "old model intact"
        );
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A read-only file system refuses even root: /proc.
    let result = train(
        &bbt_photos("raj", 1..=1),
        &[("label", &"raj"), ("location", &"/proc/faceid-test.faceid")],
    );
    let text = result.error_text();
    assert!(text.contains("Could not write the model"), "{text}");
    assert!(text.contains("/proc/faceid-test.faceid"), "{text}");
}

#[test]
fn a_new_segment_starts_new_tracks() {
    // A segment seek that loops a file without a flush (scripts/soak.sh does that) sends a
    // new segment: the faces of the next loop get new tracks, named again from scratch.
    let sample = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let mut h = overlay_harness(&[]);
    h.set_src_caps(sample.caps().unwrap().to_owned());
    let ids = |h: &mut gst_check::Harness, pts: u64| {
        let mut buffer = sample.buffer().unwrap().copy();
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(pts));
        let out = h.push_and_pull(buffer).unwrap();
        assert_eq!(known_names(&out), ["leonard", "sheldon"]);
        let mut ids: Vec<i32> = out
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .map(|m| m.id())
            .collect();
        ids.sort();
        ids
    };
    let first = ids(&mut h, 0);
    assert_eq!(ids(&mut h, 33), first, "the same tracks within a segment");
    let segment = gst::FormattedSegment::<gst::ClockTime>::new();
    assert!(h.push_event(gst::event::Segment::new(&segment)));
    let after = ids(&mut h, 0);
    assert!(
        after.iter().all(|id| !first.contains(id)),
        "new tracks after the new segment: {first:?} then {after:?}"
    );
}

/// A bus handler that runs synchronously (in the thread that posts) and reads the element's
/// properties, as an application showing the element's state does: the element never posts
/// while holding its own lock, so this never deadlocks. Live, the first frames pass through
/// while the weights are read, each with an empty `faceid` message: those are the ones that
/// were posted under the lock that the `live` property takes.
#[test]
fn a_synchronous_bus_handler_may_read_every_property_at_any_time() {
    init();
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let (pipeline, src, sink) = obs_filter_pipeline(
        &info,
        &format!(
            "faceidoverlay name=overlay post-messages=true model=\"{}\"",
            bbt_model().display()
        ),
    );
    let overlay = pipeline.by_name("overlay").unwrap().downgrade();
    let messages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = messages.clone();
    pipeline.bus().unwrap().set_sync_handler(move |_, message| {
        if let gst::MessageView::Element(e) = message.view()
            && e.structure().is_some_and(|s| s.name() == "faceid")
            && let Some(overlay) = overlay.upgrade()
        {
            for spec in overlay.list_properties() {
                if spec.flags().contains(gst::glib::ParamFlags::READABLE) {
                    let _ = overlay.property_value(spec.name());
                }
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        gst::BusSyncReply::Drop
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    // A stuck streaming thread: the frame never comes back (push_and_pull's assertion).
    for i in 0..40u64 {
        push_and_pull(&src, &sink, &photo, i);
    }
    assert_eq!(messages.load(std::sync::atomic::Ordering::SeqCst), 40);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// `margin` and `unknown-distance` changed while playing act on the next frame and keep the
/// tracks (the people are the same; only the thresholds moved); a new model starts them over.
#[test]
fn thresholds_changed_while_playing_keep_the_tracks() {
    let mut h = overlay_harness(&[]);
    let sample = decode(&samples().join("bbt/_group/bbt2.jpg"));
    h.set_src_caps(sample.caps().unwrap().to_owned());
    let faces = |h: &mut gst_check::Harness| {
        let out = h.push_and_pull(sample.buffer().unwrap().copy()).unwrap();
        <gstfaceid::meta::NamedFace as gstfaceid::meta::FaceMeta>::all_in_buffer(&out)
    };
    let before = faces(&mut h);
    let sheldon = before
        .iter()
        .find(|f| f.label.as_deref() == Some("sheldon"))
        .expect("sheldon named");
    let track = sheldon.track.expect("a track");
    h.element()
        .unwrap()
        .set_property("unknown-distance", 0.0001f64);
    let after = faces(&mut h);
    assert!(after.iter().all(|f| f.label.is_none()), "{after:?}");
    assert!(after.iter().any(|f| f.track == Some(track)), "{after:?}");
    h.element()
        .unwrap()
        .set_property("unknown-distance", 0.0f64);
    h.element().unwrap().set_property("margin", 0.01f64);
    let again = faces(&mut h);
    let sheldon = again
        .iter()
        .find(|f| f.track == Some(track))
        .expect("the same track");
    assert_eq!(sheldon.label.as_deref(), Some("sheldon"));
}
