"""Where one query's time goes (encoder, n-grams + SVM, nearest examples), torch threads 1 vs 2, on a model
trained on CLINC150's train split restricted to 40 intents (quick), scored on 300 test queries."""
import csv, sys, time
import numpy as np, torch
from kefu.bot import intents
from kefu.bot.encoders import load_encoder

name = sys.argv[1] if len(sys.argv) > 1 else "minilm-int8"
rd = lambda s: [(r["text"], r["label"]) for r in csv.DictReader(open(f"/work/shared/data/clinc150/{s}.csv", encoding="utf-8"))]
keep = sorted({l for _, l in rd("train")})[:40] + ["oos"]
tr = [(t, l) for t, l in rd("train") if l in keep]
qs = [t for t, _ in rd("test")][::18][:300]
enc = load_encoder(name)
model = intents.IntentModel.train([t for t, _ in tr], [l for _, l in tr], oos_label="oos", encoder=enc)
vec = model._vectorizer
for threads in (1, 2):
    torch.set_num_threads(threads)
    parts = {"encode": [], "ngrams+join": [], "svm": [], "predict total": []}
    for q in qs:
        t0 = time.perf_counter(); d = intents._unit(enc([q])); t1 = time.perf_counter()
        X = intents._join(vec.ngrams.transform([q]), d); t2 = time.perf_counter()
        model._classifier.decision_function(X); t3 = time.perf_counter()
        model.predict(q); t4 = time.perf_counter()
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)): parts[k].append(v * 1000)
    print(name, f"threads={threads}", "  ".join(f"{k} p50 {np.percentile(v, 50):.2f} p95 {np.percentile(v, 95):.2f}"
                                            for k, v in parts.items()), flush=True)
