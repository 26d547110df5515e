"""Import a Goodreads-style CSV export into shelf's reading list (data/books.tsv).

Goodreads exports one row per book with many columns; shelf needs five. Books already on
the list (same title and author, ignoring case) are skipped, so running the import twice
adds nothing. New books get ids after the highest id on the list.

    python3 tools/import_csv.py goodreads_library_export.csv
    python3 tools/import_csv.py --dry-run export.csv
"""

import argparse
import csv
import sys
from pathlib import Path

LIST_HEADER = ["id", "title", "author", "year", "status"]

# Goodreads calls them shelves; shelf calls them statuses.
STATUSES = {"read": "read", "currently-reading": "reading", "to-read": "to-read"}


def read_list(path):
    """The reading list as a list of dicts; an empty list if the file does not exist."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def key(title, author):
    return (title.strip().casefold(), author.strip().casefold())


def convert(row):
    """One export row as a list entry (without id), or None if it cannot be used."""
    title = (row.get("Title") or "").strip()
    author = (row.get("Author") or "").strip()
    year = (row.get("Original Publication Year") or row.get("Year Published") or "").strip()
    status = STATUSES.get((row.get("Exclusive Shelf") or "to-read").strip())
    if not title or not author or not year.isdigit() or status is None:
        return None
    return {"title": title, "author": author, "year": year, "status": status}


def merge(existing, rows):
    """New entries for `rows` not already in `existing`, with fresh ids."""
    known = {key(b["title"], b["author"]) for b in existing}
    next_id = max((int(b["id"]) for b in existing), default=0) + 1
    added, skipped = [], 0
    for row in rows:
        book = convert(row)
        if book is None or key(book["title"], book["author"]) in known:
            skipped += 1
            continue
        known.add(key(book["title"], book["author"]))
        added.append({"id": str(next_id), **book})
        next_id += 1
    return added, skipped


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="the CSV file Goodreads exported")
    parser.add_argument("--list", type=Path, default=Path("data/books.tsv"))
    parser.add_argument("--dry-run", action="store_true", help="show, do not write")
    args = parser.parse_args(argv)

    existing = read_list(args.list)
    with args.export.open(newline="", encoding="utf-8-sig") as f:
        added, skipped = merge(existing, csv.DictReader(f))
    for book in added:
        print(f"+ {book['title']} — {book['author']} ({book['year']})")
    print(f"{len(added)} added, {skipped} skipped")
    if args.dry_run or not added:
        return 0
    with args.list.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=LIST_HEADER, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(existing + added)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
