"""Time the similar-cases candidate query for rare and common words: python similar_cases_rare_words.py DATA_DIR
(DBURL=postgres://… for PostgreSQL). Run from the project root."""
import os, sys, time
sys.path.insert(0, "/work/main")
from bench.generate import configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from kefu.assist import selectors as s
for words in (["zzzqqq"], ["zzzqqq", "yyyxxx"], ["退款"], ["refund", "zzzqqq"]):
    t0 = time.perf_counter(); ids = s._candidate_ids(words); print(words, len(ids), "%.1f ms" % ((time.perf_counter()-t0)*1000))
