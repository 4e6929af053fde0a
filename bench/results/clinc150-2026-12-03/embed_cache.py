"""Encode CLINC150 train/val/test once with kefu's minilm encoder (timed), cache to /tmp/clinc/*.npy."""
import csv, sys, time
import numpy as np
from kefu.bot.encoders import load_encoder

D = "/work/shared/data/clinc150/"
enc = load_encoder("minilm")
for split in ("train", "val", "test"):
    with open(D + split + ".csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    t = time.perf_counter()
    X = enc(texts)
    print(split, len(texts), X.shape, f"{time.perf_counter() - t:.1f}s", flush=True)
    np.save(f"/tmp/clinc/{split}.npy", X.astype(np.float32))
# single-query timing
import statistics
qs = texts[:300]
lat = []
for q in qs:
    t = time.perf_counter(); enc([q]); lat.append((time.perf_counter() - t) * 1000)
lat.sort(); print("single-query encode ms p50", lat[150], "p95", lat[285])
