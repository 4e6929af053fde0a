"""Late fusion: n-gram SVM scores + closed-form linear model on the embeddings (ridge / LDA)."""
import sys, time
from common import *
from gauss import fit_gauss, d2
_, ytr = load("train"); _, yv = load("val"); ins = yv != "oos"
NG = np.load(f"{C}/svm-ng.npz", allow_pickle=True); classes = NG["classes"]; ng = NG["val"]
Ytr = (ytr[:, None] == classes[None]).astype(np.float64)
def ridge(X, Y, r):
    X1 = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    A = X1.T @ X1 + r * np.eye(X1.shape[1]); A[-1, -1] -= r
    return np.linalg.solve(A, X1.T @ (2 * Y - 1))
def rscore(X, W):
    return np.hstack([X, np.ones((len(X), 1))]) @ W
for kind in sys.argv[1:] or ["int8", "fp32"]:
    for layers in [(6, 4), (6, 4, 2), (6, 5, 4, 3, 2)]:
        Etr, Ev = emb(kind, "train", layers), emb(kind, "val", layers)
        for r in (0.1, 1, 10):
            t = time.perf_counter(); W = ridge(Etr, Ytr, r); rv = rscore(Ev, W); tt = time.perf_counter() - t
            pr = classes[rv.argmax(1)]
            line = f"{kind} L{''.join(map(str,layers))} r={r} ({tt:.1f}s) ridge alone {100*(pr==yv)[ins].mean():.2f}"
            for beta in (0.5, 1, 2, 3):
                f = ng + beta * rv; p = classes[f.argmax(1)]
                line += f" | b={beta}: {100*(p==yv)[ins].mean():.2f}"
            print(line, flush=True)
