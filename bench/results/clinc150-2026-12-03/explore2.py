"""Like explore.py, with the dense block built from embed_layers.py's cache. Spec KIND:PARTS:ALPHA:C where PARTS
is e.g. 6 (last layer mean = the sentence embedding), 6+3 (layers 6 and 3), 6+mx (with max-pooling); each part
L2-normalised, the block scaled so its norm is ALPHA. --test evaluates on test instead of val."""
import csv, sys, time
import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from kefu.bot.intents import _features

EV = "test" if "--test" in sys.argv else "val"
rd = lambda s: [(r["text"], r["label"]) for r in csv.DictReader(open(f"/work/shared/data/clinc150/{s}.csv", encoding="utf-8"))]
tr, ev = rd("train"), rd(EV)
tx, ty = [t for t, _ in tr], np.array([l for _, l in tr], dtype=object)
vx, vy = [t for t, _ in ev], np.array([l for _, l in ev], dtype=object)
feats = _features(); Ntr = feats.fit_transform(tx); Nv = feats.transform(vx)
ins = vy != "oos"
nrm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)

def block(kind, split, parts):
    z = np.load(f"/tmp/clinc/{kind}-{split}.npz")
    cols = [nrm(z["maxpool"]) if p == "mx" else nrm(z["layers"][:, int(p)]) for p in parts.split("+")]
    return np.hstack(cols) / np.sqrt(len(cols)), nrm(z["layers"][:, 6])

def at(score, pred, want):
    refused_base = pred == "oos"
    for th in np.sort(np.unique(score)):
        if (refused_base | (score < th))[~ins].mean() >= want:
            return ((pred == vy) & ~(refused_base | (score < th)))[ins].mean()

for spec in sys.argv[1:]:
    if spec.startswith("--"): continue
    kind, parts, alpha, C = spec.split(":"); alpha, C = float(alpha), float(C)
    Dtr, Etr = block(kind, "train", parts); Dv, Ev = block(kind, EV, parts)
    t = time.perf_counter()
    clf = LinearSVC(C=C, tol=float(__import__("os").environ.get("TOL", "1e-4"))).fit(hstack([Ntr, csr_matrix(Dtr * alpha)]).tocsr(), ty); ft = time.perf_counter() - t
    S = clf.decision_function(hstack([Nv, csr_matrix(Dv * alpha)]).tocsr()); cls = clf.classes_
    top = S.max(1); pred = cls[S.argmax(1)]
    sims = Ev @ Etr.T
    nn = np.array([sims[i, ty == p].max() if p != "oos" else 0 for i, p in enumerate(pred)])
    line = " ".join(f"{name}:{at(s, pred, 0.70):.4f}/{at(s, pred, 0.75):.4f}"
                    for name, s in (("top1", top), ("+1nn", top + nn), ("+2nn", top + 2 * nn), ("+3nn", top + 3 * nn)))
    print(f"{EV} {spec:18s} fit {ft:5.1f}s pre {(pred == vy)[ins].mean():.4f} | @70/75 {line}", flush=True)
