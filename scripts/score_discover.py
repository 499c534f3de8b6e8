#!/usr/bin/env python3
"""Scores `faceid discover` against a clip's ground truth.

    scripts/score_discover.py GT.jsonl PEOPLE_DIR [--fps 30] [--name-as-user DIR]

Each crop in PEOPLE_DIR/index.jsonl is matched to the ground-truth face of its frame that
overlaps its box most (IoU >= 0.3). Prints, per folder, its crops and their true people; then
  purity      crops that are their folder's majority person, over all matched crops
  split       folders per person (the folders whose majority they are)
  missing     people on screen for at least 1 s (--fps frames) with no folder
Extras labelled `unknown` in the ground truth count as one person "unknown" (the clip does not
say which stranger is which).

--name-as-user DIR does what the README asks of a user: each folder renamed to its majority
person (two folders of one person merged by moving files), strangers' folders (majority
`unknown`) and folders of no face deleted; the crops are copied into DIR/<person>/, ready for
`faceid train DIR`.
"""
import argparse
import collections
import json
import os
import shutil
import sys


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    x0, y0 = max(ax, bx), max(ay, by)
    x1, y1 = min(ax + aw, bx + bw), min(ay + ah, by + bh)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gt")
    p.add_argument("people")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--name-as-user", metavar="DIR")
    args = p.parse_args()
    gt = {}
    on_screen = collections.Counter()
    with open(args.gt) as f:
        for line in f:
            d = json.loads(line)
            gt[d["frame"]] = d["faces"]
            for face in d["faces"]:
                on_screen[face["label"]] += 1
    folders = collections.defaultdict(collections.Counter)
    files = collections.defaultdict(list)
    unmatched = 0
    with open(os.path.join(args.people, "index.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            faces = gt.get(d["frame"], [])
            best = max(faces, key=lambda g: iou(g["box"], d["box"]), default=None)
            if best is None or iou(best["box"], d["box"]) < 0.3:
                unmatched += 1
                folders[d["person"]]["(no face)"] += 1
                continue
            folders[d["person"]][best["label"]] += 1
            files[d["person"]].append(d["file"])
    total = sum(sum(c.values()) for c in folders.values())
    majority_total = 0
    split = collections.Counter()
    for name in sorted(folders):
        c = folders[name]
        label, n = c.most_common(1)[0]
        majority_total += n
        split[label] += 1
        rest = ", ".join(f"{l} {k}" for l, k in c.most_common()[1:])
        print(f"{name:<16} {sum(c.values()):>4} crops: {label} {n}" + (f" (+ {rest})" if rest else ""))
    purity = majority_total / total if total else 0.0
    people = [l for l, n in on_screen.items() if n >= args.fps and l != "unknown"]
    missing = sorted(l for l in people if split[l] == 0)
    most_split = max((split[l] for l in people), default=0)
    print(f"crops {total} (no face in the ground truth: {unmatched}), folders {len(folders)}")
    print(f"purity {purity:.3f}")
    print("split " + ", ".join(f"{l} {split[l]}" for l in sorted(people)) + f"; most {most_split}")
    print(f"missing (>= 1 s on screen, no folder): {', '.join(missing) if missing else 'none'}")
    if args.name_as_user:
        copied = 0
        for name, c in folders.items():
            label = c.most_common(1)[0][0]
            if label in ("unknown", "(no face)"):
                continue
            dest = os.path.join(args.name_as_user, label)
            os.makedirs(dest, exist_ok=True)
            for f in files[name]:
                shutil.copy(os.path.join(args.people, f), os.path.join(dest, f.replace("/", "-")))
                copied += 1
        print(f"named as a user would: {copied} crops into {args.name_as_user}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
