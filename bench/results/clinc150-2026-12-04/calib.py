"""Thresholds for the refusal score s = top1 + 2nn [+ w*ng(pred)] from (A) 3-fold CV on train refusing 75 % of
train oos (kefu's rule), (B) leave-intents-out: refuse X % of held-out intents' train rows (5 group models, mean
threshold), (C) in-scope quantile of CV scores. Applied to the full model on val and test.
usage: calib.py KIND W_NG"""
import sys
from common import *
kind, w = sys.argv[1], float(sys.argv[2]); tag = {"fp32": "f32", "int8": "i8"}[kind]
_, ytr = load("train"); _, yv = load("val"); _, yte = load("test")
S = np.load(f"{C}/svm-{tag}.npz", allow_pickle=True); cl = S["classes"]
NG = np.load(f"{C}/svm-ng.npz", allow_pickle=True); ngc = NG["classes"]
Etr = emb(kind, "train"); ci = {c: np.flatnonzero(ytr == c) for c in cl}
def score(sv, E, ng, ngcls, exclude=None):
    pi = sv.argmax(1); pred = cl_of(sv)[pi] if False else None
    return None
def full(sv, E, ng, classes, ngcls, loo=False):
    pi = sv.argmax(1); pred = classes[pi]
    cos = E @ Etr.T
    if loo: np.fill_diagonal(cos, -1)
    nn = np.array([cos[i, ci[p]].max() for i, p in enumerate(pred)])
    s = sv.max(1) + 2 * nn
    if w: s = s + w * ng[np.arange(len(sv)), np.searchsorted(ngcls, pred)]
    return s, pred
# (A) CV on train (OOF svm scores, LOO nearest neighbour)
so, po = full(S["oof"], Etr, NG["oof"], cl, ngc, loo=True)
oos = ytr == "oos"
so_ = np.where(po == "oos", -np.inf, so)
thrA = np.quantile(so_[oos], 0.75)
# (C) in-scope quantiles
corr = (po == ytr) & ~oos
# (B) LIO
Z = np.load(f"{C}/lio-{kind}.npz", allow_pickle=True)
held_scores = []
for g in range(5):
    classes = Z[f"joint{g}_classes"]; held = Z[f"held{g}"]; rows = np.flatnonzero(np.isin(ytr, held))
    s, p = full(Z[f"joint{g}_held"], Etr[rows], Z[f"ng{g}_held"], classes, Z[f"ng{g}_classes"])
    held_scores.append(np.where(p == "oos", -np.inf, s))
sv, pv = full(S["val"], emb(kind, "val"), NG["val"], cl, ngc)
st, pt = full(S["test"], emb(kind, "test"), NG["test"], cl, ngc)
print(f"{kind} w_ng={w}: val curve @70/80/85/90 {curve(sv, pv, yv)} | TEST curve @70/80/85/90 {curve(st, pt, yte)}")
def show(name, thr):
    a, r = at_thr(sv, pv, yv, thr); a2, r2 = at_thr(st, pt, yte, thr)
    print(f"  {name:40s} thr {thr:7.3f} | val in {a:.2f} oos {r:.1f} | test in {a2:.2f} oos {r2:.1f}")
show("A: CV, 75% of train oos", thrA)
for X in (0.8, 0.85, 0.9):
    show(f"A': CV, {int(X*100)}% of train oos", np.quantile(so_[oos], X))
for X in (0.3, 0.4, 0.5, 0.6, 0.7):
    show(f"B: LIO, {int(X*100)}% of held-out intents", np.mean([np.quantile(h, X) for h in held_scores]))
for q in (0.02, 0.03, 0.05):
    show(f"C: {q*100:.0f}% of CV-correct in-scope", np.quantile(so[corr], q))
