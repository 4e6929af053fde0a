"""Single-query latency (1 torch thread): encoder (fp32 / int8, layers 6+4 as kefu) alone, and the whole
kefu IntentModel.predict path with a cached-free encoder. usage: latency.py KIND N"""
import sys, time, os
os.environ["OMP_NUM_THREADS"] = "1"
from common import *
import torch; torch.set_num_threads(1)
from kefu.bot.encoders import load_encoder
kind, n = sys.argv[1], int(sys.argv[2])
enc = load_encoder({"fp32": "minilm", "int8": "minilm-int8"}[kind])
va, yv = load("val"); rng = np.random.RandomState(1); idx = rng.choice(len(va), n, replace=False)
for t in va[:20]: enc([t])
lat = []
for i in idx:
    t = time.perf_counter(); enc([va[i]]); lat.append((time.perf_counter() - t) * 1000)
print(f"{kind} encode 1 query: p50 {np.percentile(lat,50):.2f} p95 {np.percentile(lat,95):.2f} ms", flush=True)
# rest of predict: tfidf transform + svm decision + nn search, the real full-train joint SVM
from kefu.bot.intents import _features
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
tr, ytr = load("train"); E = emb(kind, "train")
sub = rng.choice(len(tr), 3000, replace=False)
vec = _features(); T = vec.fit_transform(tr)   # full vocabulary, as the real model
clf = LinearSVC(C=0.5).fit(hstack([T, csr_matrix(2 * E)]).tocsr(), ytr)
rows = {c: np.flatnonzero(ytr == c) for c in clf.classes_}
t0 = [0, 0, 0]
lat = []
for i in idx:
    t = time.perf_counter()
    d = enc([va[i]]); X = hstack([vec.transform([va[i]]), csr_matrix(2 * d)]).tocsr()
    s = clf.decision_function(X); p = s.argmax(1)[0]
    nn = (E[rows[clf.classes_[p]]] @ d[0]).max()
    lat.append((time.perf_counter() - t) * 1000)
print(f"{kind} whole predict (approx): p50 {np.percentile(lat,50):.2f} p95 {np.percentile(lat,95):.2f} ms", flush=True)
