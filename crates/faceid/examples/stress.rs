//! Long-running and many-pipeline checks of `faceidoverlay` in one process, with real GStreamer
//! pipelines (`filesrc ! decodebin ! videoconvert ! faceidoverlay ! fakesink`, default
//! properties, the `faceid` messages read from the bus as an application would):
//!
//!     cargo run --release --example stress -- soak VIDEO MODEL [--minutes 30] [--every 60]
//!     cargo run --release --example stress -- multi VIDEO MODEL [--pipelines 4]
//!
//! `soak` loops the video with segment seeks for the given time in one pipeline and prints the
//! resident memory (VmRSS) every `--every` seconds, then start, minute-1, end and peak (VmHWM)
//! and the growth from minute 1 to the end: it must stay flat. `multi` plays the video once in
//! N pipelines at the same time and prints each one's frames/s, the peak memory of the process
//! and how many times the dlib weights were read from disk (once: they are shared).
//! `scripts/soak.sh` and `scripts/multi.sh` train the model and run these.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use gst::prelude::*;

#[derive(Parser)]
#[command(about = "Soak and many-pipeline benchmarks of faceidoverlay")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Loop VIDEO through faceidoverlay for a while and print resident memory over time.
    Soak {
        video: String,
        model: String,
        /// How long to run, in minutes.
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        /// Seconds between two memory lines.
        #[arg(long, default_value_t = 60)]
        every: u64,
    },
    /// Play VIDEO once in N concurrent pipelines; print frames/s and peak memory.
    Multi {
        video: String,
        model: String,
        /// Number of pipelines running at once.
        #[arg(long, default_value_t = 4)]
        pipelines: usize,
    },
}

/// A `kB` field of /proc/self/status, in MiB.
fn proc_status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn rss_mib() -> f64 {
    proc_status_mib("VmRSS:")
}

fn peak_mib() -> f64 {
    proc_status_mib("VmHWM:")
}

/// filesrc ! decodebin ! videoconvert ! faceidoverlay (defaults) ! fakesink sync=false.
fn build_pipeline(video: &str, model: &str) -> Result<gst::Pipeline, Box<dyn std::error::Error>> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", video)
        .build()?;
    let decode = gst::ElementFactory::make("decodebin").build()?;
    let convert = gst::ElementFactory::make("videoconvert").build()?;
    let overlay = gst::ElementFactory::make("faceidoverlay")
        .property("model", model)
        .build()?;
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    pipeline.add_many([&src, &decode, &convert, &overlay, &sink])?;
    src.link(&decode)?;
    gst::Element::link_many([&convert, &overlay, &sink])?;
    let convert_weak = convert.downgrade();
    // Only the video is linked: an unlinked audio pad of a demuxer is fine while video flows.
    decode.connect_pad_added(move |_, pad| {
        if let Some(convert) = convert_weak.upgrade()
            && let Some(sink_pad) = convert.static_pad("sink")
            && !sink_pad.is_linked()
            && pad.current_caps().is_some_and(|c| {
                c.structure(0)
                    .is_some_and(|s| s.name().starts_with("video/"))
            })
        {
            let _ = pad.link(&sink_pad);
        }
    });
    Ok(pipeline)
}

fn error_text(e: &gst::message::Error) -> String {
    format!(
        "{} ({})",
        e.error(),
        e.debug().map(|d| d.to_string()).unwrap_or_default()
    )
}

fn soak(
    video: &str,
    model: &str,
    minutes: f64,
    every: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let pipeline = build_pipeline(video, model)?;
    let bus = pipeline.bus().ok_or("no bus")?;
    pipeline.set_state(gst::State::Paused)?;
    let (result, _, _) = pipeline.state(gst::ClockTime::from_seconds(60));
    if result.is_err() {
        let msg = bus
            .pop_filtered(&[gst::MessageType::Error])
            .map(|m| match m.view() {
                gst::MessageView::Error(e) => error_text(e),
                _ => String::new(),
            })
            .unwrap_or_default();
        pipeline.set_state(gst::State::Null)?;
        return Err(format!("the pipeline does not preroll: {msg}").into());
    }
    // A flushing segment seek: at the end of the file a SEGMENT_DONE message comes instead of
    // EOS, and a non-flushing segment seek back to the start continues the same stream.
    pipeline.seek(
        1.0,
        gst::SeekFlags::FLUSH | gst::SeekFlags::SEGMENT,
        gst::SeekType::Set,
        gst::ClockTime::ZERO,
        gst::SeekType::None,
        gst::ClockTime::NONE,
    )?;
    pipeline.set_state(gst::State::Playing)?;

    let started = Instant::now();
    let duration = Duration::from_secs_f64(minutes * 60.0);
    let every = Duration::from_secs(every.max(1));
    let start_rss = rss_mib();
    println!(
        "soak: {video}, faceidoverlay with default properties, {minutes} min, one line every {} s",
        every.as_secs()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>8} {:>6} {:>8}",
        "time", "rss MiB", "peak MiB", "frames", "loops", "frames/s"
    );
    let line = |t: Duration, frames: u64, loops: u64| {
        println!(
            "{:>7.1}m {:>10.1} {:>10.1} {:>8} {:>6} {:>8.1}",
            t.as_secs_f64() / 60.0,
            rss_mib(),
            peak_mib(),
            frames,
            loops,
            frames as f64 / t.as_secs_f64().max(1e-9)
        )
    };
    line(Duration::ZERO, 0, 0);
    let (mut frames, mut loops) = (0u64, 0u64);
    let mut next_line = every;
    let mut last_line = Duration::ZERO;
    // One RSS sample a second, for the averages of the summary (malloc arenas make single
    // readings wobble by a few MiB).
    let mut samples: Vec<(f64, f64)> = vec![(0.0, start_rss)];
    let mut failure = None;
    while started.elapsed() < duration {
        // Every message is taken off the bus (one `faceid` message per frame), as an
        // application must: a bus nobody reads grows without bound.
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
            match msg.view() {
                gst::MessageView::Element(e)
                    if e.structure().is_some_and(|s| s.name() == "faceid") =>
                {
                    frames += 1
                }
                gst::MessageView::SegmentDone(_) => {
                    loops += 1;
                    pipeline.seek(
                        1.0,
                        gst::SeekFlags::SEGMENT,
                        gst::SeekType::Set,
                        gst::ClockTime::ZERO,
                        gst::SeekType::None,
                        gst::ClockTime::NONE,
                    )?;
                }
                gst::MessageView::Eos(_) => {
                    // A demuxer without segment seeks: play it again from the start.
                    loops += 1;
                    pipeline.seek_simple(gst::SeekFlags::FLUSH, gst::ClockTime::ZERO)?;
                }
                gst::MessageView::Error(e) => {
                    failure = Some(error_text(e));
                    break;
                }
                gst::MessageView::Warning(w) => {
                    eprintln!("warning: {}", w.error());
                }
                _ => {}
            }
        }
        let t = started.elapsed();
        if t.as_secs_f64() - samples.last().map_or(0.0, |s| s.0) >= 1.0 {
            samples.push((t.as_secs_f64(), rss_mib()));
        }
        if t >= next_line {
            line(t, frames, loops);
            last_line = t;
            next_line += every;
        }
    }
    let t = started.elapsed();
    let end_rss = rss_mib();
    let peak = peak_mib();
    if failure.is_none() && t - last_line > Duration::from_secs(1) {
        // The last line, unless one was printed within the last second.
        line(t, frames, loops);
    }
    pipeline.set_state(gst::State::Null)?;
    if let Some(failure) = failure {
        return Err(format!("the pipeline failed after {frames} frames: {failure}").into());
    }
    println!(
        "frames {frames} in {:.1} min ({:.1} frames/s), {loops} loops of the clip",
        t.as_secs_f64() / 60.0,
        frames as f64 / t.as_secs_f64()
    );
    println!("rss start {start_rss:.1} MiB, end {end_rss:.1} MiB, peak {peak:.1} MiB");
    // Growth after warm-up: the mean RSS of a window starting at minute 1 against the mean of
    // the last window of the same length (60 s, or half of what remains after minute 1).
    let total = t.as_secs_f64();
    let window = 60f64.min((total - 60.0) / 2.0);
    if window >= 5.0 {
        let mean = |from: f64, to: f64| {
            let v: Vec<f64> = samples
                .iter()
                .filter(|s| s.0 >= from && s.0 < to)
                .map(|s| s.1)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (first, last) = (mean(60.0, 60.0 + window), mean(total - window, total + 1.0));
        println!(
            "growth from minute 1 to the end (means of {window:.0} s windows): {first:.1} -> {last:.1} MiB, {:+.1} MiB ({:+.1}%)",
            last - first,
            (last - first) / first * 100.0
        );
    } else {
        println!("growth from minute 1 to the end: (run at least 70 s)");
    }
    println!(
        "dlib weights read from disk {} time(s)",
        faceid_dlib::Weights::times_loaded()
    );
    Ok(())
}

struct PipelineRun {
    frames: u64,
    seconds: f64,
    error: Option<String>,
}

fn play_once(video: &str, model: &str) -> PipelineRun {
    let started = Instant::now();
    let mut run = PipelineRun {
        frames: 0,
        seconds: 0.0,
        error: None,
    };
    let pipeline = match build_pipeline(video, model) {
        Ok(p) => p,
        Err(e) => {
            run.error = Some(e.to_string());
            return run;
        }
    };
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let _ = pipeline.set_state(gst::State::Playing);
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Element(e) if e.structure().is_some_and(|s| s.name() == "faceid") => {
                run.frames += 1
            }
            gst::MessageView::Error(e) => {
                run.error = Some(error_text(e));
                break;
            }
            gst::MessageView::Eos(_) => break,
            _ => {}
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    run.seconds = started.elapsed().as_secs_f64();
    run
}

fn multi(video: &str, model: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let before = rss_mib();
    // The weights alone, loaded the way the elements load them: what one copy costs. The
    // elements then find them in the per-process cache.
    let weights = faceid_dlib::Weights::load(&faceid_dlib::WeightsConfig::new(
        faceid_dlib::resolve_models_dir(None),
    ))?;
    let with_weights = rss_mib();
    let started = Instant::now();
    let runs: Vec<PipelineRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| scope.spawn(|| play_once(video, model)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("pipeline thread"))
            .collect()
    });
    let wall = started.elapsed().as_secs_f64();
    let mut failed = false;
    for (i, run) in runs.iter().enumerate() {
        match &run.error {
            Some(e) => {
                failed = true;
                println!("pipeline {i}: failed after {} frames: {e}", run.frames)
            }
            None => println!(
                "pipeline {i}: {} frames in {:.1} s, {:.1} frames/s",
                run.frames,
                run.seconds,
                run.frames as f64 / run.seconds
            ),
        }
    }
    let frames: u64 = runs.iter().map(|r| r.frames).sum();
    println!(
        "{n} pipeline(s): {frames} frames in {wall:.1} s, {:.1} frames/s in total, {:.1} frames/s each; \
         rss before {before:.0} MiB, with the weights {with_weights:.0} MiB, peak {:.0} MiB; \
         dlib weights read from disk {} time(s)",
        frames as f64 / wall,
        frames as f64 / wall / n as f64,
        peak_mib(),
        faceid_dlib::Weights::times_loaded()
    );
    drop(weights);
    if failed {
        return Err("a pipeline failed".into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    gst::init()?;
    // The plugin is linked in: no GST_PLUGIN_PATH needed.
    gstfaceid::plugin_register_static()?;
    match cli.command {
        Command::Soak {
            video,
            model,
            minutes,
            every,
        } => soak(&video, &model, minutes, every),
        Command::Multi {
            video,
            model,
            pipelines,
        } => multi(&video, &model, pipelines),
    }
}
