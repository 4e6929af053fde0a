"""Leave-intents-out: 5 groups of 30 intents; per group fit (joint SVM on TF-IDF + alpha*E, and n-gram SVM) on the
train rows of the other intents (+ train oos), score val (all) and the held-out intents' train rows.
usage: lio.py KIND(int8|fp32) -> cache/lio-KIND.npz"""
import sys, time
from common import *
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from kefu.bot.intents import _features
kind = sys.argv[1]; G = 5
tr, ytr = load("train"); va, yv = load("val"); te, yte = load("test")
intents = np.array(sorted(set(ytr) - {"oos"})); rng = np.random.RandomState(0); perm = rng.permutation(intents)
groups = [perm[i::G] for i in range(G)]
Etr, Ev = emb(kind, "train"), emb(kind, "val")
out = {}
for g, held in enumerate(groups):
    t = time.perf_counter()
    keep = ~np.isin(ytr, held); hold = ~keep
    trk = [tr[i] for i in np.flatnonzero(keep)]; trh = [tr[i] for i in np.flatnonzero(hold)]
    for name, dense in (("ng", None), ("joint", True)):
        vec = _features(); Tk = vec.fit_transform(trk)
        def X(T, E): return T if dense is None else hstack([T, csr_matrix(E * np.float32(2.0))]).tocsr()
        clf = LinearSVC(C=1.0 if dense is None else 0.5).fit(X(Tk, Etr[keep]), ytr[keep])
        out[f"{name}{g}_val"] = clf.decision_function(X(vec.transform(va), Ev)).astype(np.float32)
        out[f"{name}{g}_held"] = clf.decision_function(X(vec.transform(trh), Etr[hold])).astype(np.float32)
        out[f"{name}{g}_classes"] = clf.classes_
    out[f"held{g}"] = held
    print(kind, "group", g, f"{time.perf_counter()-t:.1f}s", flush=True)
np.savez(f"{C}/lio-{kind}.npz", **out)
