"""Class-conditional Gaussians with shared shrunk covariance on cached embeddings (val only)."""
import sys, time
from common import *
def fit_gauss(Xtr, ytr, lam, oos="oos", include_oos=False):
    keep = np.ones(len(ytr), bool) if include_oos else (ytr != oos)
    X, y = Xtr[keep].astype(np.float64), ytr[keep]
    classes = np.unique(y)
    mu = np.stack([X[y == c].mean(0) for c in classes])
    R = X - mu[np.searchsorted(classes, y)]
    S = R.T @ R / len(X)
    S = (1 - lam) * S + lam * np.trace(S) / S.shape[0] * np.eye(S.shape[0])
    w, V = np.linalg.eigh(S)
    W = V / np.sqrt(w)  # whitening
    return classes, mu @ W, W
def d2(Xq, model):
    classes, muW, W = model
    Z = Xq.astype(np.float64) @ W
    return (Z * Z).sum(1)[:, None] - 2 * Z @ muW.T + (muW * muW).sum(1)[None]
if __name__ == "__main__":
    _, ytr = load("train"); _, yv = load("val")
    for kind in ("int8", "fp32"):
        for layers in [(6,), (6, 4), (6, 4, 2), (6, 5, 4, 3), (6, 5, 4, 3, 2, 1)]:
            Etr, Ev = emb(kind, "train", layers), emb(kind, "val", layers)
            for lam in (0.01, 0.05, 0.2, 0.5):
                t = time.perf_counter()
                m = fit_gauss(Etr, ytr, lam); D2 = d2(Ev, m)
                pred = m[0][D2.argmin(1)]
                acc = 100 * (pred == yv)[yv != "oos"].mean()
                s_min = -D2.min(1)
                lp = -D2 / 2; lp -= lp.max(1, keepdims=True); P = np.exp(lp); P /= P.sum(1, keepdims=True)
                s_p = P.max(1)
                print(f"{kind} L{''.join(map(str,layers))} lam={lam}: acc {acc:.2f} | -mind2 @60/70/75 {curve(s_min, pred, yv)}"
                      f" | maxP {curve(s_p, pred, yv)} ({time.perf_counter()-t:.1f}s)", flush=True)
