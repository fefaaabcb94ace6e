#!/usr/bin/env python3
"""Makes the shipped short-text corpus: each Debian package's one-line description and its archive
section, from a Debian Packages index (bookworm main, amd64), for the sections that say what a package
is for (not which language ecosystem it belongs to). Transitional and dummy packages are left out, and
a description that appears under more than one package is kept once (its first section).

  lz4cat /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4 \
    | model-workers/scripts/debian-descriptions.py \
    | gzip -9n > model-workers/src/main/resources/text/debian-bookworm-descriptions.csv.gz
"""
import csv
import sys

SECTIONS = {
    "admin", "database", "editors", "electronics", "fonts", "games", "graphics", "mail", "math",
    "net", "science", "sound", "text", "video", "web",
}


def packages(lines):
    cur = {}
    for line in lines:
        if not line.strip():
            if cur:
                yield cur
            cur = {}
        elif line[0] not in " \t":
            k, _, v = line.partition(":")
            cur[k] = v.strip()
    if cur:
        yield cur


def main():
    seen = set()
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["package", "section", "description"])
    rows = []
    for p in packages(sys.stdin):
        section = p.get("Section", "")
        text = p.get("Description", "")
        low = text.lower()
        if section not in SECTIONS or not text or "transitional" in low or "dummy package" in low:
            continue
        if low in seen:
            continue
        seen.add(low)
        rows.append((p["Package"], section, text))
    rows.sort()
    out.writerows(rows)


if __name__ == "__main__":
    main()
