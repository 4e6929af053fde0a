"""Exploration on train → val (test only with --test): which refusal score / classifier settings give the best
in-scope accuracy at a given out-of-scope recall. Uses the embeddings cached by embed_cache.py."""
import csv, sys, time
import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from kefu.bot.intents import _features

D = "/work/shared/data/clinc150/"
EV = "test" if "--test" in sys.argv else "val"
def load(split):
    rows = list(csv.DictReader(open(D + split + ".csv", encoding="utf-8")))
    return [r["text"] for r in rows], np.array([r["label"] for r in rows], dtype=object), np.load(f"/tmp/clinc/{split}.npy")
tx, ty, tE = load("train"); vx, vy, vE = load(EV)
t = time.perf_counter(); feats = _features(); Ntr = feats.fit_transform(tx); Nv = feats.transform(vx)
print(f"ngrams {time.perf_counter()-t:.1f}s dims {Ntr.shape}", flush=True)
ins = vy != "oos"

def curve(score, pred, name):
    """in-scope acc at oos recall 0.70/0.75/0.80 (threshold on score), + pre-refusal acc."""
    out = []
    base_ok = (pred == vy) & ins
    for want in (0.70, 0.75, 0.80):
        # refuse if pred==oos or score < th; find the smallest th giving recall >= want
        cand = np.sort(np.unique(score))
        ok_oos = (pred == "oos")
        best = None
        lo, hi = 0, len(cand) - 1
        for th in cand:
            if ((ok_oos | (score < th))[~ins]).mean() >= want:
                best = th; break
        refused = ok_oos | (score < best)
        out.append(f"{(base_ok & ~refused)[ins].sum()/ins.sum():.4f}")
    print(f"  {name:28s} @oos70/75/80: {' '.join(out)}", flush=True)

def run(alpha, C, dense=True, label="", oosw=1.0, mix=0.0):
    Xtr = hstack([Ntr, csr_matrix(tE * alpha)]).tocsr() if dense else Ntr
    Xv = hstack([Nv, csr_matrix(vE * alpha)]).tocsr() if dense else Nv
    t = time.perf_counter(); clf = LinearSVC(C=C, class_weight={"oos": oosw} if oosw != 1 else None).fit(Xtr, ty); ft = time.perf_counter() - t
    S = clf.decision_function(Xv); cls = clf.classes_
    if mix:
        sims = vE @ tE.T
        M = np.stack([sims[:, ty == c].max(1) if c != "oos" else np.zeros(len(vy)) for c in cls], 1)
        S = S + mix * M
    order = np.argsort(-S, 1); top = S[np.arange(len(S)), order[:, 0]]; second = S[np.arange(len(S)), order[:, 1]]
    pred = cls[order[:, 0]]
    acc_pre = (pred == vy)[ins].mean(); rec_pre = (pred == "oos")[~ins].mean()
    print(f"{label} alpha={alpha} C={C} fit {ft:.1f}s  in-scope before refusal {acc_pre:.4f}  oos-as-class recall {rec_pre:.3f}", flush=True)
    curve(top, pred, "top1")
    curve(top - second, pred, "top1-top2")
    if dense:
        # cosine to nearest training example of the predicted intent
        sims = vE @ tE.T
        nn = np.array([sims[i, ty == p].max() if p != "oos" else 0 for i, p in enumerate(pred)])
        curve(nn, pred, "nn-cos(pred)")
        nn_any = sims[:, ty != "oos"].max(1)
        curve(nn_any, pred, "nn-cos(any in-scope)")
        for b in (0.5, 1.0, 2.0):
            curve(top + b * nn, pred, f"top1+{b}*nn")
    return clf

for spec in sys.argv[1:]:
    if spec.startswith("--"): continue
    a, c, *rest = spec.split(",")
    w = float(rest[0]) if rest else 1.0
    m = float(rest[1]) if len(rest) > 1 else 0.0
    run(float(a), float(c), dense=float(a) > 0, oosw=w, mix=m, label=f"oosw={w} mix={m}")
