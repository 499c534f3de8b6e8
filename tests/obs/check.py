#!/usr/bin/env python3
"""Judges OBS runs made by run-obs.sh: OBS's health, GStreamer errors, and names in the recording.

    check.py --clip CLIP --detections D.jsonl --name PERSON [options] --control DIR --run DIR

DIR is an OUT_DIR of run-obs.sh (obs.log, obs-stdout.log, one *.mkv). --control is the run with the
`identity` filter, --run the one with faceidoverlay. Prints a table and the verdicts; exits 1 when a
check fails. Standard library and ffmpeg only.

The frame check. faceidoverlay draws a known person's box and name label in known-color (default
0xff00d900, green) and unknown faces in red. The recording (OBS loops the clip) is decoded at --fps;
each sampled frame is matched to the clip frame it shows (smallest difference of 32x18 grey
thumbnails), and `faceid annotate --detections` on the clip says where PERSON's face is on that
frame. A sampled frame is
- "named" when the offline analysis names PERSON on its clip frame,
- a "hit" when it is named and has label-green pixels near PERSON's box (the box, the label above
  it, a margin, and the boxes of frames within --window of it, so a name that comes a few frames
  late or early still counts),
and label-green pixels anywhere else are "stray": a name drawn away from PERSON.
The identity run is the control: it must show no label-green at all, so neither the clip nor OBS
makes these pixels, and a filter that draws nothing scores 0 hits.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from glob import glob
from operator import sub

TW, TH = 32, 18  # thumbnails for matching a recorded frame to a clip frame


def table(pred):
    return bytes(1 if pred(v) else 0 for v in range(256))


# Label colours after OBS (NV12, x264) and ffmpeg's decoding: (0,217,0) comes out near (0,175,0),
# (230,0,0) near (200,0,0). The clip itself has no such saturated pixels (the control proves it).
LOW = table(lambda v: v <= 80)
HIGH = table(lambda v: v >= 120)
RED_LOW = table(lambda v: v <= 50)
RED_HIGH = table(lambda v: v >= 170)


def ffprobe_size(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True).stdout.strip()
    w, h = out.split(",")[:2]
    return int(w), int(h)


def ffprobe_duration(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True, text=True).stdout.strip()
    try:
        return float(out)
    except ValueError:
        return None


def decode(path, vf, frame_bytes, extra=()):
    """Raw frames of `path` through the filter graph `vf`."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", path, *extra, "-vf", vf,
           "-f", "rawvideo", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    frames = []
    while True:
        b = proc.stdout.read(frame_bytes)
        if len(b) < frame_bytes:
            break
        frames.append(b)
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg could not decode {path}")
    return frames


def thumbs(path, fps=None):
    vf = (f"fps={fps}," if fps else "") + f"scale={TW}:{TH}:flags=area,format=gray"
    extra = () if fps else ("-fps_mode", "passthrough")  # every clip frame, in order
    return decode(path, vf, TW * TH, extra)


def parse_obs(run):
    """OBS's own figures from run-obs.sh's OUT_DIR."""
    r = {"dir": run, "problems": []}
    log = open(os.path.join(run, "obs.log"), errors="replace").read() \
        if os.path.exists(os.path.join(run, "obs.log")) else ""
    out = open(os.path.join(run, "obs-stdout.log"), errors="replace").read() \
        if os.path.exists(os.path.join(run, "obs-stdout.log")) else ""
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # GStreamer's debug log may be in colour
    r["summary"] = "Total frames output:" in log  # OBS stopped the recording and reported
    m = re.search(r"Number of lagged frames due to rendering lag/stalls: (\d+) \(([\d.]+)%\)", log)
    r["lagged"], r["lagged_pct"] = (int(m[1]), float(m[2])) if m else (0, 0.0)
    m = re.search(r"Total drawn frames: (\d+) \((\d+) attempted\)", log)
    r["drawn"], r["attempted"] = (int(m[1]), int(m[2])) if m else (None, None)
    # The first profile is time per call (the second, "Time Between Calls", has no percentile);
    # OBS puts a no-break space before "ms".
    for key, name in (("graphics", r"obs_graphics_thread\([^)]*\)"), ("tick", r"┣tick_sources")):
        m = re.search(name + r": min=([\d.]+)\s*ms, median=([\d.]+)\s*ms, max=([\d.]+)\s*ms, "
                      r"99th percentile=([\d.]+)\s*ms", out)
        r[key] = {"median": float(m[2]), "p99": float(m[4]), "max": float(m[3])} if m else None
    # obs-gstreamer logs parse errors and the pipeline's bus errors and warnings as
    # "[obs-gstreamer] <source>: <message>"; its only other line is the "build:" banner.
    r["gst_errors"] = [l for l in log.splitlines()
                       if "[obs-gstreamer]" in l and "[obs-gstreamer] build:" not in l]
    # GStreamer's own debug log (GST_DEBUG >= 1) and GLib criticals, in OBS's stdout/stderr.
    r["gst_errors"] += [l for l in out.splitlines()
                        if re.search(r"\sERROR\s+\S+\s+\S+:\d+:", l)
                        or re.search(r"(GStreamer|GLib-GObject|GLib)[\w-]*-CRITICAL", l)]
    r["gst_warnings"] = sum(1 for l in out.splitlines() if re.search(r"\sWARN\s+\S+\s+\S+:\d+:", l))
    # OBS 29 sometimes crashes or hangs while quitting, after the recording stopped: its SIGINT
    # handler calls Qt (see README.md, "Known: OBS 29 can hang or crash while quitting"); the
    # profile is then lost.
    m = re.search(r"^(Segmentation fault|Aborted|Bus error|Killed)\b.*$", out, re.M)
    r["crash"] = m[0] if m else None
    recs = sorted(glob(os.path.join(run, "*.mkv")))
    r["recording"] = recs[-1] if recs else None
    return r


def expanded(box, w, h):
    """Where a box and its name label are drawn (see draw.rs), with a margin: x0, y0, x1, y1."""
    x, y, bw, bh = box
    font = min(max(bh * 0.18, 12.0), 48.0, h / 12.0)
    label_w = 14 * font  # "lin_manuel_miranda 0.75" in bold: about 13.5 em
    margin = 6 + 0.15 * bh
    x0 = min(x - margin, w - label_w - margin)
    x1 = max(x + bw, x + label_w) + margin
    y0 = y - 2.2 * font - margin
    y1 = y + bh + margin
    clamp = lambda v, hi: int(max(0, min(hi, v)))
    return clamp(x0, w), clamp(y0, h), clamp(x1, w), clamp(y1, h)


def sample(rec, clip_thumbs, fps, w, h):
    """Per sampled frame of the recording: the clip frame it shows and its label-coloured pixels."""
    rec_thumbs = thumbs(rec, fps)
    rgb = decode(rec, f"fps={fps},format=rgb24", w * h * 3)
    out = []
    for k in range(min(len(rec_thumbs), len(rgb))):
        t = rec_thumbs[k]
        diffs = [sum(map(abs, map(sub, t, c))) for c in clip_thumbs]
        m = min(range(len(clip_thumbs)), key=diffs.__getitem__)
        f = rgb[k]
        r, g, b = f[0::3], f[1::3], f[2::3]
        # Bit masks, one byte a pixel: int AND and bit_count stand in for numpy.
        green = (int.from_bytes(r.translate(LOW), "little") & int.from_bytes(g.translate(HIGH), "little")
                 & int.from_bytes(b.translate(LOW), "little"))
        red = (int.from_bytes(r.translate(RED_HIGH), "little") & int.from_bytes(g.translate(RED_LOW), "little")
               & int.from_bytes(b.translate(RED_LOW), "little"))
        out.append((k, m, diffs[m] / (TW * TH), green, red.bit_count()))
    return out


def score(samples, dets, name, fps, window, w, h):
    """Per sampled frame: is PERSON named on its clip frame, label-green near him and elsewhere."""
    count = len(dets)
    named = [any(f.get("label") == name for f in d["faces"]) for d in dets]
    boxes = [[f["box"] for f in d["faces"] if name in (f.get("label"), f.get("best_match"))] for d in dets]
    rows = []
    for k, m, dist, green, red in samples:
        region = bytearray(w * h)
        for j in range(max(0, m - window), min(count, m + window + 1)):
            for box in boxes[j]:
                x0, y0, x1, y1 = expanded(box, w, h)
                ones = b"\x01" * (x1 - x0)
                for y in range(y0, y1):
                    region[y * w + x0:y * w + x1] = ones
        g_all = green.bit_count()
        g_in = (green & int.from_bytes(region, "little")).bit_count()
        rows.append({"sample": k, "t": round(k / fps, 2), "clip_frame": m, "match_diff": round(dist, 1),
                     "named": named[m], "green": g_all, "green_near": g_in,
                     "green_stray": g_all - g_in, "red": red})
    return rows


def summarise(rows, min_px, max_diff):
    matched = [r for r in rows if r["match_diff"] <= max_diff]
    named = [r for r in matched if r["named"]]
    hits = [r for r in named if r["green_near"] >= min_px]
    s = {
        "samples": len(rows),
        "matched": len(matched),
        "match_diff_median": statistics.median([r["match_diff"] for r in rows]) if rows else None,
        "green_frames": sum(1 for r in rows if r["green"] >= min_px),
        "red_frames": sum(1 for r in rows if r["red"] >= min_px),
        "named": len(named),
        "hits": len(hits),
        "stray_frames": sum(1 for r in rows if r["green_stray"] >= min_px),
        "green_px": sum(r["green"] for r in rows),
        "green_near_px": sum(r["green_near"] for r in rows),
    }
    s["hit_share"] = s["hits"] / s["named"] if s["named"] else 0.0
    s["near_share"] = s["green_near_px"] / s["green_px"] if s["green_px"] else 0.0
    return s


def fmt_ms(t):
    return "n/a" if not t else f"{t['median']:.1f} / {t['p99']:.1f} / {t['max']:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--detections", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--control", required=True, help="run-obs.sh OUT_DIR of the identity run")
    ap.add_argument("--run", required=True, help="run-obs.sh OUT_DIR of the faceidoverlay run")
    ap.add_argument("--fps", type=float, default=10)
    ap.add_argument("--window", type=int, default=15, help="clip frames either side for PERSON's boxes")
    ap.add_argument("--min-px", type=int, default=150, help="label-green pixels that make a name")
    ap.add_argument("--max-diff", type=float, default=20, help="largest thumbnail difference of a match")
    ap.add_argument("--max-lagged-pct", type=float, default=2.0)
    ap.add_argument("--min-hit-share", type=float, default=0.6)
    ap.add_argument("--min-near-share", type=float, default=0.9)
    ap.add_argument("--min-named", type=int, default=10)
    a = ap.parse_args()

    w, h = ffprobe_size(a.clip)
    dets = [json.loads(l) for l in open(a.detections) if l.strip()]
    clip_thumbs = thumbs(a.clip)
    if len(clip_thumbs) != len(dets):
        print(f"note: {len(clip_thumbs)} decoded clip frames, {len(dets)} detection lines", file=sys.stderr)
    count = min(len(clip_thumbs), len(dets))
    clip_thumbs, dets = clip_thumbs[:count], dets[:count]

    runs = {"identity": parse_obs(a.control), "faceidoverlay": parse_obs(a.run)}
    for label, r in runs.items():
        r["duration"] = ffprobe_duration(r["recording"]) if r["recording"] else None
        r["frames"] = None
        if r["recording"] and r["duration"]:
            try:
                r["samples"] = sample(r["recording"], clip_thumbs, a.fps, w, h)
            except RuntimeError as e:
                print(f"{label}: {e}", file=sys.stderr)
                continue
            rows = score(r["samples"], dets, a.name, a.fps, a.window, w, h)
            with open(os.path.join(r["dir"], "frames.jsonl"), "w") as out:
                out.writelines(json.dumps(x) + "\n" for x in rows)
            r["frames"] = summarise(rows, a.min_px, a.max_diff)

    print(f"| run | lagged frames | graphics thread ms median / p99 / max | tick_sources ms median / p99 / max "
          f"| GStreamer errors | recording s | frames sampled | with name-green | with red "
          f"| {a.name} named: name near him | name-green px near him | frames with stray green |")
    print("|" + "---|" * 12)
    for label, r in runs.items():
        f = r["frames"]
        lag = f"{r['lagged']} ({r['lagged_pct']:.1f}%)" if r["summary"] else "no summary"
        dur = f"{r['duration']:.1f}" if r["duration"] else "-"
        cols = (f"{f['samples']} | {f['green_frames']} | {f['red_frames']} | {f['hits']}/{f['named']} "
                f"({100 * f['hit_share']:.0f}%) | {100 * f['near_share']:.1f}% | {f['stray_frames']}"
                if f else "no recording | | | | |")
        print(f"| {label} | {lag} | {fmt_ms(r['graphics'])} | {fmt_ms(r['tick'])} | {len(r['gst_errors'])} "
              f"| {dur} | {cols} |")
    for label, r in runs.items():
        f = r["frames"]
        if f:
            print(f"{label}: {f['samples']} frames sampled at {a.fps:g} fps, {f['matched']} matched to a clip "
                  f"frame (median thumbnail difference {f['match_diff_median']}), {f['green_px']} name-green "
                  f"pixels in all; GStreamer warnings in OBS's stderr: {r['gst_warnings']}")

    fails, notes = [], []
    for label, r in runs.items():
        if not r["summary"]:
            fails.append(f"{label}: OBS's log has no recording summary (OBS crashed, hung or was killed; "
                         f"see {r['dir']}/obs.log and obs-stdout.log)")
        seen = {}
        for line in r["gst_errors"]:  # once per message, without OBS's time stamp
            msg = re.sub(r"^\d\d:\d\d:\d\d\.\d+: ", "", line.strip())
            seen[msg] = seen.get(msg, 0) + 1
        for msg, times in list(seen.items())[:5]:
            fails.append(f"{label}: GStreamer error: {msg}" + (f" ({times} times)" if times > 1 else ""))
        if not r["frames"]:
            fails.append(f"{label}: no playable recording in {r['dir']}")
    c, o = runs["identity"], runs["faceidoverlay"]
    if c["frames"]:
        cf = c["frames"]
        if cf["green_frames"] > 0.02 * cf["samples"]:
            fails.append(f"identity: {cf['green_frames']} of {cf['samples']} frames have label-green pixels "
                         "without faceidoverlay: the colour test cannot tell names from the video")
        if cf["hit_share"] >= a.min_hit_share:
            fails.append("identity: the control passes the names check: the check proves nothing")
        if cf["matched"] < 0.8 * cf["samples"]:
            fails.append(f"identity: only {cf['matched']} of {cf['samples']} recorded frames match a clip frame: "
                         "the recording does not show the clip")
    for label, r in runs.items():
        if r["summary"] and r["crash"]:
            notes.append(f"{label}: OBS crashed while quitting, after the recording stopped ({r['crash']}; "
                         f"see {r['dir']}/obs-stdout.log): no timing profile")
        elif r["summary"] and not r["graphics"]:
            notes.append(f"{label}: no obs_graphics_thread profile in obs-stdout.log")
    if c["summary"] and c["lagged_pct"] > a.max_lagged_pct:
        notes.append(f"identity lags {c['lagged_pct']}% without faceidoverlay: the machine is too busy "
                     "for OBS, the faceidoverlay lag figure is not the element's alone")
    if o["summary"] and o["lagged_pct"] > a.max_lagged_pct:
        p99 = f"graphics thread p99 {o['graphics']['p99']:.0f} ms" if o["graphics"] else "no timing profile"
        fails.append(f"faceidoverlay: {o['lagged_pct']}% of frames lagged in OBS ({o['lagged']} frames; {p99}), "
                     f"allowed {a.max_lagged_pct}% (FACEID_OBS_MAX_LAGGED_PCT)")
    if o["frames"]:
        of = o["frames"]
        if of["named"] < a.min_named:
            fails.append(f"faceidoverlay: only {of['named']} sampled frames show {a.name} named in the clip "
                         f"(need {a.min_named}): recording too short or not matching the clip")
        elif of["hit_share"] < a.min_hit_share:
            fails.append(f"faceidoverlay: a name near {a.name} on {of['hits']} of the {of['named']} frames where "
                         f"the clip names him ({100 * of['hit_share']:.0f}%, need {100 * a.min_hit_share:.0f}%)")
        if of["green_px"] and of["near_share"] < a.min_near_share:
            fails.append(f"faceidoverlay: only {100 * of['near_share']:.0f}% of the name pixels are near {a.name} "
                         f"(need {100 * a.min_near_share:.0f}%): names drawn on the wrong faces or frames")
    if o["frames"] and o["frames"]["hit_share"] >= a.min_hit_share:
        # Second control: the same recording judged against the clip's names half a loop away must
        # fail, or the check cannot tell the right frames from the wrong ones.
        shifted = dets[count // 2:] + dets[:count // 2]
        sf = summarise(score(o["samples"], shifted, a.name, a.fps, a.window, w, h), a.min_px, a.max_diff)
        print(f"control: faceidoverlay's recording against the names of the clip shifted by {count // 2} frames: "
              f"hits {sf['hits']}/{sf['named']} ({100 * sf['hit_share']:.0f}%), "
              f"name pixels near {a.name} {100 * sf['near_share']:.0f}%")
        if sf["hit_share"] >= a.min_hit_share and sf["near_share"] >= a.min_near_share:
            fails.append("faceidoverlay: the recording also passes against names on the wrong frames: "
                         "the names check cannot tell frames apart")
    for n in notes:
        print("note:", n)
    for f in fails:
        print("FAIL:", f)
    if fails:
        print(f"obs-check: FAILED ({len(fails)} problem{'s' if len(fails) > 1 else ''})")
        return 1
    print("obs-check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
