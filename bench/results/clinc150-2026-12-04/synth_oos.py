"""Exploratory: add synthetic out-of-scope training examples (first half of one train sentence + second half of
one from another domain) to the oos class; joint SVM (int8 L6+4, alpha 2, C 0.5); val curves."""
import sys, os, time, warnings
from common import *
import torch; torch.set_num_threads(1)
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from kefu.bot.intents import _features
from kefu.bot.encoders import load_encoder
n_syn = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
tr, ytr = load("train"); va, yv = load("val")
dom = {i: d for d, l in domains().items() for i in l}
rng = np.random.RandomState(0); ins = np.flatnonzero(ytr != "oos"); syn = []
while len(syn) < n_syn:
    a, b = rng.choice(ins, 2)
    if dom[ytr[a]] == dom[ytr[b]]: continue
    wa, wb = tr[a].split(), tr[b].split()
    syn.append(" ".join(wa[:max(1, len(wa) // 2)] + wb[len(wb) // 2:]))
print(syn[:5])
enc = load_encoder("minilm-int8"); t = time.perf_counter(); Es = enc(syn); print("encode", time.perf_counter() - t)
Etr, Ev = emb("int8", "train"), emb("int8", "val")
texts = tr + syn; y = np.concatenate([ytr, np.array(["oos"] * len(syn), dtype=object)]); E = np.vstack([Etr, Es])
vec = _features(); t = time.perf_counter()
clf = LinearSVC(C=0.5).fit(hstack([vec.fit_transform(texts), csr_matrix(2 * E)]).tocsr(), y); print("fit", time.perf_counter() - t)
sv = clf.decision_function(hstack([vec.transform(va), csr_matrix(2 * Ev)]).tocsr())
pred = clf.classes_[sv.argmax(1)]
ci = {c: np.flatnonzero(ytr == c) for c in clf.classes_}
cos = Ev @ Etr.T; nn = np.array([cos[i, ci[p]].max() for i, p in enumerate(pred)])
print(f"synthetic oos n={n_syn}: before {100*(pred==yv)[yv!='oos'].mean():.2f}, val oos predicted as oos class {100*(pred[yv=='oos']=='oos').mean():.1f}%"
      f" | top1 @70/80/85/90 {curve(sv.max(1), pred, yv)} | top1+2nn {curve(sv.max(1)+2*nn, pred, yv)}")
