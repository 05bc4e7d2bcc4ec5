"""WeasyPrint alone on saved report HTML: each file rendered in turn, the order reversed every round, so a
shared machine's load falls on all of them alike.

    .venv/bin/python bench/casebook.py --database edc_bench_s4 --runs 1 --save-html /tmp/casebook.html
    (edit a copy of it: one change of stylesheet or markup)
    .venv/bin/python bench/render_ab.py --rounds 7 /tmp/casebook.html /tmp/variant.html

Prints each file's median and fastest CPU time (`time.process_time`) of `HTML(string=…).write_pdf()`, its
pages and every round's time. On a loaded machine identical renders spread by ±15 %: compare medians of
seven rounds or more.
"""
import argparse
import logging
import statistics
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # WeasyPrint's per-page messages
    from weasyprint import HTML

    htmls = {path: path.read_text() for path in args.files}
    for html in htmls.values():
        HTML(string=html).write_pdf()  # warm fonts and caches
    times: dict = {path: [] for path in htmls}
    pages = {}
    for index in range(args.rounds):
        for path in (args.files if index % 2 == 0 else args.files[::-1]):
            began = time.process_time()
            document = HTML(string=htmls[path]).render()
            document.write_pdf()
            times[path].append(time.process_time() - began)
            pages[path] = len(document.pages)
    for path, runs in times.items():
        print(f"{path}: CPU median {statistics.median(runs):.3f} s, fastest {min(runs):.3f} s, {pages[path]} pages; "
              "runs: " + ", ".join(f"{run:.2f}" for run in runs))


if __name__ == "__main__":
    main()
